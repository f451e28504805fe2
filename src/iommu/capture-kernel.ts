import { PROC_FILE } from '../access/bounded-read.js';
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
  evidence: Evidence[];
  problems: string[];
}

/**
 * Am I a crash-dump kernel? The kernel's own test is `elfcorehdr=` having been set (is_kdump_kernel());
 * /proc/vmcore exists exactly then. Either is enough; `reset_devices` is only recorded as a hint.
 */
export function detectCaptureKernel(root: Root): CaptureKernelFacts {
  const evidence: Evidence[] = [];
  const problems: string[] = [];
  let cmdline: string | null = null;
  try {
    cmdline = root.readText('proc/cmdline', PROC_FILE)?.trim() ?? null;
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
  if (vmcore) evidence.push({ source: 'proc/vmcore', fact: 'present: the old kernel\'s memory is exposed, this is a capture kernel' });
  if (words.elfcorehdr !== null) evidence.push({ source: 'proc/cmdline', fact: `elfcorehdr=${words.elfcorehdr}: booted by kexec as a crash kernel` });
  if (words.resetDevices) evidence.push({ source: 'proc/cmdline', fact: 'reset_devices (a hint only: users can set it anywhere)' });
  if (!vmcore && words.elfcorehdr === null) {
    evidence.push({ source: 'proc/vmcore', fact: 'absent and no elfcorehdr= on the command line: not a capture kernel' });
    if (words.crashkernel !== null) evidence.push({ source: 'proc/cmdline', fact: `crashkernel=${words.crashkernel}: this kernel reserves memory for a crash kernel` });
  }
  if (vmcore && words.elfcorehdr === null && cmdline !== null) {
    problems.push('proc/vmcore exists but proc/cmdline has no elfcorehdr=; trusting /proc/vmcore');
  }
  return { captureKernel: vmcore || words.elfcorehdr !== null, vmcore, cmdline, words, evidence, problems };
}
