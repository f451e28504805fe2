/**
 * The quirk table as data: what one entry matches and what it says. Parsing is in parse.ts, matching and
 * precedence in match.ts; the format is documented in docs/planner.md (section "The quirk table").
 */

/** Methods the table can prefer. `kernel` = the sysfs `reset` file with the kernel's own chain. */
export type QuirkMethod = 'flr' | 'af_flr' | 'pm' | 'bus' | 'kernel' | `kernel:${KernelMethod}` | 'vfio';
export const RAW_METHODS = ['flr', 'af_flr', 'pm', 'bus'] as const;
export type RawMethod = (typeof RAW_METHODS)[number];

/** The names the kernel's `reset_method` file knows (pci_reset_fn_methods[] in 6.18). */
export const KERNEL_METHODS = ['device_specific', 'acpi', 'flr', 'af_flr', 'pm', 'bus', 'cxl_bus'] as const;
export type KernelMethod = (typeof KERNEL_METHODS)[number];

export interface QuirkMatch {
  /** null = any. */
  vendor: number | null;
  /** Inclusive device ID range; both null = any. A single ID has lo === hi. */
  deviceLo: number | null;
  deviceHi: number | null;
  subsystemVendor: number | null;
  subsystemDevice: number | null;
  /** 24-bit class code compared under `classMask`; mask 0 = any class. */
  classValue: number;
  classMask: number;
  /** Inclusive revision range; null = any. */
  revLo: number | null;
  revHi: number | null;
  /** true: only on a root bus; false: only below a bridge; null: anywhere. */
  rootBus: boolean | null;
}

export interface QuirkEntry {
  /** Label of the table it came from (a path, or `built-in:default.quirks`). */
  file: string;
  /** Order of that table among the loaded ones (later overrides earlier at equal specificity). */
  fileIndex: number;
  line: number;
  column: number;
  match: QuirkMatch;
  /** `prefer=` list in order; null when the entry does not set it. `skip` is kept apart. */
  prefer: QuirkMethod[] | null;
  /** `skip` (or `prefer=skip`): do not reset this function; it is reported unresettable. */
  skip: boolean;
  /** `no_dma`: not a bus master, so out of scope (nothing to stop). */
  noDma: boolean;
  noFlr: boolean;
  noPm: boolean;
  noBus: boolean;
  /** Extra wait after the reset (ms). */
  waitMs: number | null;
  /** D3hot->D0 delay for a PM reset (ms); the kernel's dev->d3hot_delay. */
  d3hotMs: number | null;
  /** Raises the PM delay of every function on the machine when this function is present (pci_pm_d3hot_delay). */
  d3hotGlobalMs: number | null;
  /** Readiness delay after a bus reset or D3cold (ms); the kernel's dev->d3cold_delay. */
  d3coldMs: number | null;
  /** The function does FLR although DevCap does not advertise it. */
  assumeFlr: boolean;
  /** Documentation only: no effect on the method, the reason is shown wherever the function appears. */
  info: boolean;
  /** The kernel function this entry mirrors (e.g. `quirk_no_bus_reset`); null for field knowledge. */
  kernel: string | null;
  reason: string;
  /** The entry's text as written (continuation lines joined with a space), for lint and list. */
  text: string;
}

export interface QuirkTable {
  entries: QuirkEntry[];
  /** The tables in load order. */
  sources: { label: string; entries: number }[];
}

/** What a function looks like to the table. Null fields are unknown (entries keyed on them do not match). */
export interface QuirkSubject {
  vendor: number | null;
  device: number | null;
  subsystemVendor: number | null;
  subsystemDevice: number | null;
  classCode: number | null;
  revision: number | null;
  rootBus: boolean | null;
}

/** The kernel quirk functions that set PCI_DEV_FLAGS_NO_*_RESET: only these feed the kernel flags a scan infers with. */
export const KERNEL_FLAG_FUNCTIONS: ReadonlySet<string> = new Set([
  'quirk_no_bus_reset',
  'quirk_nvidia_no_bus_reset',
  'quirk_no_flr',
  'quirk_no_flr_snet',
  'quirk_no_pm_reset',
]);

/** `file:line` of an entry, the way every message cites it. */
export function cite(e: Pick<QuirkEntry, 'file' | 'line'>): string {
  return `${e.file}:${e.line}`;
}
