import type { ConfigWidth } from '../../access/access.js';

/** Where a saved register is restored, in the kernel's pci_restore_state() order. */
export type RestoreGroup =
  | 'ltr'
  | 'l1ss'
  | 'pcie'
  | 'pasid'
  | 'pri'
  | 'ats'
  | 'vc'
  | 'rebar'
  | 'dpc'
  | 'ptm'
  | 'tph'
  | 'aer'
  | 'header'
  | 'pcix'
  | 'msi'
  | 'msix'
  | 'acs'
  | 'vfrebar'
  | 'sriov';

export interface SavedRegister {
  /** `BAR0@0x10`, `DevCtl@0x78`, …: the name reports use. */
  name: string;
  offset: number;
  width: ConfigWidth;
  value: number;
  group: RestoreGroup;
  /** Bits compared on read-back; the rest is status, read-only or self-clearing. */
  compare: number;
  /** Write even when the register already holds the value (the kernel forces a bridge's prefetch window). */
  force?: boolean;
  /** Read back and write again this many times, 1 ms apart (the kernel does 10 for BARs). */
  retries?: number;
}

/** One function's config state as saved before a reset, registers listed in restore order. */
export interface SavedState {
  bdf: string;
  headerType: number;
  registers: SavedRegister[];
}
