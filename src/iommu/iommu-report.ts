/**
 * The IOMMU verdict (`iommu --json`), contract with other tools (issue #3). The planner reads it.
 * Fields marked contract keep their names and encodings.
 */
export type IommuCase = '1' | '2' | '3a' | '3b' | '4' | 'unknown';

export interface Evidence {
  /** Where the fact came from: `proc/vmcore`, `proc/cmdline`, `acpi:DMAR`, `sysfs:dmar0`, `kmsg`, `old-log`, `mmio:dmar0`, … */
  source: string;
  fact: string;
}

export interface IommuUnit {
  /** contract: `dmar0`, `ivhd0`, … */
  name: string;
  /** contract */
  vendor: 'intel' | 'amd' | 'other';
  /** contract: `0xfed90000`, or null when unknown. */
  registerBase: string | null;
  /** contract: GSTS.TES / AMD IommuEn read now, or what the logs say about the capture kernel. */
  translationEnabledNow: boolean | null;
  /** contract: did the crashed kernel run with translation on. */
  translationEnabledBefore: boolean | null;
  /** contract: did this kernel copy the old translation tables. */
  tablesCopied: boolean | null;
}

export interface IommuDevice {
  bdf: string;
  /** The unit that covers it (DRHD scope or INCLUDE_PCI_ALL, IVHD range); null when none. */
  unit: string | null;
  /** DMA faults logged against it (current kernel and, when read, the old kernel's log). */
  faults: number;
  tablesCopied: boolean | null;
}

export interface IommuReport {
  /** contract */
  captureKernel: boolean;
  /** contract */
  case: IommuCase;
  /** contract */
  evidence: Evidence[];
  /** contract */
  units: IommuUnit[];
  /** For case `unknown`: what was missing to decide. */
  missing: string[];
  devices: IommuDevice[];
  /** Malformed tables, refused /dev/mem, cut log lines: named, never fatal. */
  problems: string[];
}
