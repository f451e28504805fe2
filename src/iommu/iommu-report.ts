/**
 * The IOMMU verdict (`iommu --json`), contract with other tools (issue #3). The planner reads it.
 * Fields marked contract keep their names and encodings; the others are additions (README documents all).
 */
export type IommuCase = '1' | '2' | '3a' | '3b' | '4' | 'unknown' | 'mixed';

export interface Evidence {
  /** Where the fact came from: `proc/vmcore`, `proc/cmdline`, `acpi:DMAR`, `sysfs:dmar0`, `kmsg`, `old-log`, `mmio:dmar0`, … */
  source: string;
  fact: string;
}

/** Fields added by issue 13 (oldTables, snp, notes, smmu) are optional in the type only so that literal
 * units elsewhere still compile; assessIommu() always fills them. */
export interface IommuUnit {
  /** contract: `dmar0`, `ivhd0`, … */
  name: string;
  /** contract */
  vendor: 'intel' | 'amd' | 'arm' | 'other';
  /** contract: `0xfed90000`, or null when unknown. */
  registerBase: string | null;
  /** contract: GSTS.TES / AMD IommuEn read now, or what the logs say about the capture kernel. */
  translationEnabledNow: boolean | null;
  /** contract: did the crashed kernel run with translation on. */
  translationEnabledBefore: boolean | null;
  /** contract: did this kernel copy the old translation tables. */
  tablesCopied: boolean | null;
  /** Whether this kernel's IOMMU driver runs the unit (sysfs class entry, copy messages); false: it ignores it. */
  managedNow: boolean | null;
  /** This unit's own case (the machine's `case` is unknown when units disagree). */
  case: IommuCase;
  /** PCI segment (DRHD / IVHD), null when only known from sysfs or a log. */
  segment: number | null;
  /** AMD: the IOMMU's own PCI function from the IVHD. */
  pciFunction: string | null;
  /** Intel: DRHD INCLUDE_PCI_ALL; AMD: IVHD has an ALL entry. */
  includesAll: boolean | null;
  /** Where the unit is known from: `acpi:DMAR`, `acpi:IVRS`, `sysfs`, `kmsg`, `old-log`. */
  knownFrom: string[];
  /** Registers read now (hex strings) and from where (`mmio:dev/mem`, `debugfs`); null when not read. */
  registers: { source: string; values: Record<string, string> } | null;
  /** GSTS.IRES when the registers were read (Intel). */
  irqRemapNow: boolean | null;
  /** The evidence that decided each field (`measured mmio:dev/mem: GSTS=0xc7000000 …`), null when unknown. */
  basis: { now: string | null; before: string | null; tablesCopied: string | null; managed: string | null };
  /**
   * What became of the crashed kernel's tables: `reused` (the hardware keeps using them: AMD 6.18+
   * "Reused DEV table", an adopted SMMU stream table), `copied` (copied into this kernel's memory),
   * `not-copied` (a copy failed; the unit restarted with fresh tables), null when unknown or nothing to take.
   */
  oldTables?: 'reused' | 'copied' | 'not-copied' | null;
  /** AMD: the IOMMU supports SEV-SNP (EFR bit 63); null when EFR was not read. */
  snp?: boolean | null;
  /** Findings that do not change the case: a window with translation off during boot, SNP, lost context tables. */
  notes?: string[];
  /**
   * ARM SMMU: what became of stale DMA (`aborted`: reset with GBPA=ABORT and a fresh stream table;
   * `adopted`: the old stream table kept; `bypass`: untranslated; `unknown`; null outcome when the SMMU
   * was off before), why, and the RMR stream IDs firmware leaves in bypass. null for other units.
   */
  smmu?: { outcome: 'aborted' | 'adopted' | 'bypass' | 'unknown' | null; basis: string | null; rmrStreams: { first: number; count: number }[] } | null;
}

export interface IommuDevice {
  bdf: string;
  /** The unit that covers it (sysfs membership, DRHD scope or INCLUDE_PCI_ALL, IVHD entries); null when none. */
  unit: string | null;
  /** DMA faults logged against it (current kernel and, when read, the old kernel's log). */
  faults: number;
  tablesCopied: boolean | null;
  /** Faults in this kernel's log. */
  faultsNow: number;
  /** Faults in the crashed kernel's log. */
  faultsBefore: number;
  /** Interrupt-remapping faults (not DMA) in either log. */
  irqFaults: number;
  /** The case of its unit; `1` when no unit translates it and the machine's case is known. */
  case: IommuCase;
  iommuGroup: number | null;
  /** Its DMA reaches memory through an identity (passthrough) mapping, old or new: like case 3b. */
  passthrough: boolean | null;
}

export interface IommuReport {
  /** contract */
  captureKernel: boolean;
  /** contract; `mixed` when every unit was judged and they differ (each device carries its unit's case). */
  case: IommuCase;
  /** Identity (passthrough) DMA in either kernel: stray DMA reaches raw memory once attached, as in 3b. */
  passthrough: { now: boolean | null; before: boolean | null; basis: string[] };
  /** contract */
  evidence: Evidence[];
  /** contract */
  units: IommuUnit[];
  /** For case `unknown`: what was missing to decide. */
  missing: string[];
  devices: IommuDevice[];
  /** Malformed tables, refused /dev/mem, cut log lines: named, never fatal. */
  problems: string[];
  /** Evidence that disagreed (the stronger source was kept, or the field left unknown). */
  conflicts: string[];
  /** Live system only: the case a capture kernel with the same IOMMU setup would find. */
  prediction: { case: IommuCase; basis: string } | null;
  /** Running kernel release (proc/sys/kernel/osrelease). */
  kernelRelease: string | null;
  /** What was read: the log sources and the register path, null when not read. */
  sources: { kmsg: string | null; oldLog: string | null; registers: string | null };
  /** IOMMU options on this kernel's command line and, from the old log, the crashed kernel's. */
  options: { now: string[]; before: string[] | null };
  /** The ACPI tables as parsed (addresses as hex strings). */
  acpi: { dmar: DmarSummary | null; ivrs: IvrsSummary | null };
  /** Wall time of each step in ms (tablesAndSysfs, kmsg, registers, oldLog, verdict, total): to see what a slow run spent. */
  timingsMs?: Record<string, number>;
}

export interface DmarSummary {
  checksumValid: boolean | null;
  hostAddressWidth: number | null;
  flags: string[];
  drhds: { registerBase: string; segment: number; includePciAll: boolean; registerSize: number; scopes: string[] }[];
  rmrrs: { segment: number; base: string; limit: string; scopes: string[] }[];
  atsrs: { segment: number; allPorts: boolean; scopes: string[] }[];
}

export interface IvrsSummary {
  checksumValid: boolean | null;
  ivinfo: string | null;
  targetIvhdType: string | null;
  ivhds: { type: string; pciFunction: string; registerBase: string; segment: number; entries: number; all: boolean }[];
  ivmds: number;
}
