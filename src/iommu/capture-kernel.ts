import type { Root } from '../access/root.js';
import type { Evidence } from './iommu-report.js';
import { parseKdumpWords, type KdumpWords } from './cmdline.js';
import { describeError } from './describe-error.js';

export interface CaptureKernelFacts {
  captureKernel: boolean;
  vmcore: boolean;
  /** The command line as read (trimmed), null when proc/cmdline is missing. */
  cmdline: string | null;
  words: KdumpWords;
  /** arm64: `/chosen/linux,elfcorehdr` of the device tree kexec passed (hex start and size), null when absent. */
  dtElfcorehdr: string | null;
  evidence: Evidence[];
  problems: string[];
}

const DT_ELFCOREHDR = ['proc/device-tree/chosen/linux,elfcorehdr', 'sys/firmware/devicetree/base/chosen/linux,elfcorehdr'];

/**
 * Am I a crash-dump kernel? The kernel's own test is `elfcorehdr=` having been set (is_kdump_kernel()),
 * from the command line (x86) or the device tree's /chosen (arm64); /proc/vmcore exists exactly then. Either is enough; `reset_devices` is only recorded as a hint.
 */
export function detectCaptureKernel(root: Root): CaptureKernelFacts {
  const evidence: Evidence[] = [];
  const problems: string[] = [];
  let cmdline: string | null = null;
  try {
    cmdline = root.readText('proc/cmdline')?.trim() ?? null;
  } catch (err) {
    problems.push(`proc/cmdline: ${describeError(err)}`);
  }
  if (cmdline === null && problems.length === 0) problems.push('proc/cmdline: missing; kernel options unknown');
  const words = parseKdumpWords(cmdline ?? '');
  let vmcore = false;
  try {
    vmcore = root.exists('proc/vmcore');
  } catch (err) {
    problems.push(`proc/vmcore: ${describeError(err)}`);
  }
  // arm64 kexec passes elfcorehdr in the device tree, never on the command line (of_fdt.c
  // early_init_dt_check_for_elfcorehdr() reads /chosen "linux,elfcorehdr"; kexec-tools arm64 sets it).
  let dtElfcorehdr: string | null = null;
  for (const rel of DT_ELFCOREHDR) {
    try {
      const b = root.readFile(rel);
      if (b.length === 16 || b.length === 8) {
        const cells = b.length === 16 ? [b.readBigUInt64BE(0), b.readBigUInt64BE(8)] : [BigInt(b.readUInt32BE(0)), BigInt(b.readUInt32BE(4))];
        dtElfcorehdr = `0x${cells[0]!.toString(16)}+0x${cells[1]!.toString(16)}`;
      } else dtElfcorehdr = `${b.length} bytes`;
      break;
    } catch {
      // absent
    }
  }
  if (vmcore) evidence.push({ source: 'proc/vmcore', fact: 'present: the old kernel\'s memory is exposed, this is a capture kernel' });
  if (dtElfcorehdr !== null) evidence.push({ source: 'devicetree', fact: `/chosen/linux,elfcorehdr ${dtElfcorehdr}: booted by kexec as a crash kernel (arm64 passes it in the device tree)` });
  if (words.elfcorehdr !== null) evidence.push({ source: 'proc/cmdline', fact: `elfcorehdr=${words.elfcorehdr}: booted by kexec as a crash kernel` });
  if (words.resetDevices) evidence.push({ source: 'proc/cmdline', fact: 'reset_devices (a hint only: users can set it anywhere)' });
  if (!vmcore && words.elfcorehdr === null && dtElfcorehdr === null) {
    evidence.push({ source: 'proc/vmcore', fact: 'absent and no elfcorehdr= on the command line: not a capture kernel' });
    if (words.crashkernel !== null) evidence.push({ source: 'proc/cmdline', fact: `crashkernel=${words.crashkernel}: this kernel reserves memory for a crash kernel` });
  }
  if (vmcore && words.elfcorehdr === null && dtElfcorehdr === null && cmdline !== null) {
    problems.push('proc/vmcore exists but proc/cmdline has no elfcorehdr=; trusting /proc/vmcore');
  }
  return { captureKernel: vmcore || words.elfcorehdr !== null || dtElfcorehdr !== null, vmcore, cmdline, words, dtElfcorehdr, evidence, problems };
}
