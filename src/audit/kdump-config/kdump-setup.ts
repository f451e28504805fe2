/**
 * Which kdump tooling the machine has, the command line it will give the capture kernel, and where its
 * image is. Both tools are modelled from their own sources (docs/audit.md quotes them):
 *
 * - kdump-tools (Debian, Ubuntu), 1:1.8.1 as shipped in bookworm: kdump-config reads
 *   /etc/default/kdump-tools; `KDUMP_CMDLINE` (default: /proc/cmdline without `crashkernel=`,
 *   `hugepages=`, `hugepagesz=`, `abm=`, kdump-config:549) plus `KDUMP_CMDLINE_APPEND` (default, also
 *   when set empty, `${VAR:=…}` at kdump-config:60: "reset_devices systemd.unit=kdump-tools-dump.service
 *   nr_cpus=1 irqpoll usbcore.nousb"). Image: `KDUMP_INITRD`, default /var/lib/kdump/initrd.img, a link
 *   to initrd.img-<version> built by /etc/kernel/postinst.d/kdump-tools with MODULES=dep.
 * - kdump-utils (Fedora, RHEL, CentOS Stream): kdumpctl reads /etc/sysconfig/kdump; prepare_cmdline() in
 *   kdump-lib.sh takes `KDUMP_COMMANDLINE` (default /proc/cmdline), drops every option named in
 *   `KDUMP_COMMANDLINE_REMOVE` and always crashkernel, panic_on_warn, root, rd.lvm.lv, rd.luks.uuid,
 *   rd.dm.uuid, rd.md.uuid, fcoe, netroot, rd.iscsi.initiator, iscsi_initiator; appends
 *   `KDUMP_COMMANDLINE_APPEND` (x86_64 default from gen-kdump-sysconfig.sh), `disable_cpu_apicid=<boot
 *   CPU>` and `rd.systemd.gpt_auto=no`. Image: /boot/initramfs-<version>kdump.img (or
 *   /var/lib/kdump/initramfs-<version>kdump.img where /boot is not writable).
 */
import type { Root } from '../../access/root.js';
import { splitCmdline } from '../../iommu/cmdline.js';
import { parseShellVars } from './shell-vars.js';

export type KdumpTool = 'kdump-tools' | 'kdump-utils' | 'none';

/** One word of the capture kernel's command line and where it comes from (to say what to change). */
export interface CmdlineWord {
  word: string;
  /** `proc/cmdline` (inherited), `etc/default/kdump-tools KDUMP_CMDLINE_APPEND`, `kdump-config default`, … */
  from: string;
}

export interface KdumpSetup {
  tool: KdumpTool;
  /** Config files read (root-relative). */
  configFiles: string[];
  /** The capture kernel's command line, word by word; null when no tool is configured and none was given. */
  cmdline: CmdlineWord[] | null;
  /** Where the setting that adds words lives, to name in a finding (`KDUMP_CMDLINE_APPEND in /etc/default/kdump-tools`). */
  appendSetting: string | null;
  /** Where inherited words are removed (`KDUMP_COMMANDLINE_REMOVE in /etc/sysconfig/kdump`, …). */
  removeSetting: string | null;
  /** Root-relative image paths to try, in order. */
  imageCandidates: string[];
  notes: string[];
}

export const KDUMP_TOOLS_DEFAULT_APPEND = 'reset_devices systemd.unit=kdump-tools-dump.service nr_cpus=1 irqpoll usbcore.nousb';
const KDUMP_TOOLS_DROPPED = new Set(['crashkernel', 'hugepages', 'hugepagesz', 'abm']);

export const KDUMP_UTILS_DEFAULT_REMOVE = 'hugepages hugepagesz slub_debug quiet log_buf_len swiotlb cma hugetlb_cma ignition.firstboot';
export const KDUMP_UTILS_DEFAULT_APPEND_X86_64 =
  'irqpoll nr_cpus=1 reset_devices cgroup_disable=memory mce=off numa=off udev.children-max=2 panic=10 acpi_no_memhotplug transparent_hugepage=never nokaslr hest_disable novmcoredd cma=0 hugetlb_cma=0 pcie_ports=compat';
const KDUMP_UTILS_ALWAYS_REMOVED = ['crashkernel', 'panic_on_warn', 'root', 'rd.lvm.lv', 'rd.luks.uuid', 'rd.dm.uuid', 'rd.md.uuid', 'fcoe', 'netroot', 'rd.iscsi.initiator', 'iscsi_initiator'];

const words = (text: string, from: string): CmdlineWord[] => splitCmdline(text).map((w) => ({ word: w.word, from }));

export interface SetupOptions {
  /** Running kernel release (the capture kernel is the same unless configured otherwise). */
  release: string | null;
  /** The running kernel's command line. */
  procCmdline: string | null;
  /** --kdump-cmdline: use this command line instead of modelling the tool. */
  cmdlineOverride?: string;
}

export function readKdumpSetup(root: Root, opts: SetupOptions): KdumpSetup {
  const has = (rel: string): boolean => {
    try {
      return root.exists(rel);
    } catch {
      return false;
    }
  };
  const notes: string[] = [];
  let setup: KdumpSetup;
  if (has('etc/default/kdump-tools') || has('usr/sbin/kdump-config')) setup = kdumpTools(root, opts, notes);
  else if (has('etc/sysconfig/kdump') || has('etc/kdump.conf') || has('usr/bin/kdumpctl') || has('usr/sbin/kdumpctl')) setup = kdumpUtils(root, opts, notes);
  else {
    setup = {
      tool: 'none',
      configFiles: [],
      cmdline: null,
      appendSetting: null,
      removeSetting: null,
      imageCandidates: opts.release ? [`var/lib/kdump/initrd.img-${opts.release}`, `boot/initramfs-${opts.release}kdump.img`] : [],
      notes,
    };
    notes.push('no kdump tooling found (neither kdump-tools nor kdump-utils): the capture kernel\'s command line is not known');
  }
  if (opts.cmdlineOverride !== undefined) {
    setup.cmdline = words(opts.cmdlineOverride, '--kdump-cmdline');
    setup.appendSetting = '--kdump-cmdline';
    setup.removeSetting = '--kdump-cmdline';
  }
  return setup;
}

function kdumpTools(root: Root, opts: SetupOptions, notes: string[]): KdumpSetup {
  const file = 'etc/default/kdump-tools';
  const text = safeRead(root, file, notes);
  const vars = text !== null ? parseShellVars(text, file) : { values: new Map<string, string>(), unsure: [] };
  notes.push(...vars.unsure);
  const configFiles = text !== null ? [file] : [];
  const cmdline: CmdlineWord[] = [];
  const own = vars.values.get('KDUMP_CMDLINE') ?? '';
  if (own !== '') cmdline.push(...words(own, `${file} KDUMP_CMDLINE`));
  else if (opts.procCmdline !== null) cmdline.push(...words(opts.procCmdline, 'proc/cmdline').filter((w) => !KDUMP_TOOLS_DROPPED.has(w.word.split('=')[0]!)));
  else notes.push('proc/cmdline unreadable: the inherited part of the capture command line is unknown');
  const append = vars.values.get('KDUMP_CMDLINE_APPEND') ?? '';
  if (append !== '') cmdline.push(...words(append, `${file} KDUMP_CMDLINE_APPEND`));
  else cmdline.push(...words(KDUMP_TOOLS_DEFAULT_APPEND, 'kdump-config default KDUMP_CMDLINE_APPEND'));
  const initrd = vars.values.get('KDUMP_INITRD') || '/var/lib/kdump/initrd.img';
  const candidates = [strip(initrd)];
  if (opts.release) candidates.push(`var/lib/kdump/initrd.img-${opts.release}`);
  return {
    tool: 'kdump-tools',
    configFiles,
    cmdline,
    appendSetting: `KDUMP_CMDLINE_APPEND in /${file}`,
    removeSetting: `KDUMP_CMDLINE in /${file} (set it to the command line without the option; the default copies /proc/cmdline)`,
    imageCandidates: [...new Set(candidates)],
    notes,
  };
}

function kdumpUtils(root: Root, opts: SetupOptions, notes: string[]): KdumpSetup {
  const file = 'etc/sysconfig/kdump';
  const text = safeRead(root, file, notes);
  const configFiles = text !== null ? [file] : [];
  if (safeRead(root, 'etc/kdump.conf', notes) !== null) configFiles.push('etc/kdump.conf');
  const vars = text !== null ? parseShellVars(text, file) : { values: new Map<string, string>(), unsure: [] };
  notes.push(...vars.unsure);
  if (text === null) notes.push(`${file} absent: kdump-utils' shipped x86_64 defaults assumed`);
  const value = (name: string, fallback: string): { text: string; from: string } => {
    const v = vars.values.get(name);
    return v !== undefined ? { text: v, from: `${file} ${name}` } : { text: fallback, from: `kdump-utils default ${name}` };
  };
  const remove = new Set([...KDUMP_UTILS_ALWAYS_REMOVED, ...splitCmdline(value('KDUMP_COMMANDLINE_REMOVE', KDUMP_UTILS_DEFAULT_REMOVE).text).map((w) => w.name)]);
  const cmdline: CmdlineWord[] = [];
  const own = vars.values.get('KDUMP_COMMANDLINE') ?? '';
  const base = own !== '' ? words(own, `${file} KDUMP_COMMANDLINE`) : opts.procCmdline !== null ? words(opts.procCmdline, 'proc/cmdline') : [];
  if (own === '' && opts.procCmdline === null) notes.push('proc/cmdline unreadable: the inherited part of the capture command line is unknown');
  cmdline.push(...base.filter((w) => !remove.has(w.word.split('=')[0]!)));
  const append = value('KDUMP_COMMANDLINE_APPEND', KDUMP_UTILS_DEFAULT_APPEND_X86_64);
  cmdline.push(...words(append.text, append.from));
  const apicid = bootCpuApicId(root);
  if (apicid !== null) cmdline.push({ word: `disable_cpu_apicid=${apicid}`, from: 'kdumpctl prepare_cmdline' });
  cmdline.push({ word: 'rd.systemd.gpt_auto=no', from: 'kdumpctl prepare_cmdline' });
  const candidates: string[] = [];
  if (opts.release) candidates.push(`boot/initramfs-${opts.release}kdump.img`, `var/lib/kdump/initramfs-${opts.release}kdump.img`);
  return {
    tool: 'kdump-utils',
    configFiles,
    cmdline,
    appendSetting: `KDUMP_COMMANDLINE_APPEND in /${file}`,
    removeSetting: `KDUMP_COMMANDLINE_REMOVE in /${file}`,
    imageCandidates: candidates,
    notes,
  };
}

/** kdump-lib.sh get_bootcpu_apicid(): the `apicid` of processor 0 in /proc/cpuinfo. */
function bootCpuApicId(root: Root): string | null {
  let text: string | null = null;
  try {
    text = root.readText('proc/cpuinfo');
  } catch {
    return null;
  }
  if (!text) return null;
  const first = text.split(/\n\s*\n/)[0] ?? '';
  return /^apicid\s*:\s*(\d+)/m.exec(first)?.[1] ?? null;
}

function safeRead(root: Root, rel: string, notes: string[]): string | null {
  try {
    return root.readText(rel);
  } catch (err) {
    notes.push(`${rel}: ${(err as Error).message}`);
    return null;
  }
}

function strip(p: string): string {
  return p.replace(/^\/+/, '');
}
