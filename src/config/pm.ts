import { ConfigBytes, hexOffset } from './config-bytes.js';
import * as R from './registers.js';

export interface PmCap {
  offset: number;
  version: number;
  pmcsr: number;
  /** PMCSR bit 3: state is kept across D3hot->D0, so a PM reset does nothing. */
  noSoftReset: boolean;
  /** PMCSR bits 1:0, D0..D3hot. */
  powerState: number;
}

/**
 * The PM capability as the kernel's pci_pm_init() accepts it: versions above 3 are refused there
 * ("unsupported PM cap regs version") and the function gets no pm_cap, so no PM reset either.
 */
export function decodePm(cfg: ConfigBytes, offset: number, problems: string[]): PmCap | null {
  const pmc = cfg.u16(offset + R.PCI_PM_PMC);
  const pmcsr = cfg.u16(offset + R.PCI_PM_CTRL);
  if (pmc === null || pmcsr === null) {
    problems.push(`PM capability at ${hexOffset(offset)} is cut off by the end of readable config`);
    return null;
  }
  const version = pmc & R.PCI_PM_CAP_VER_MASK;
  if (version > 3) {
    problems.push(`unsupported PM capability version ${version} at ${hexOffset(offset)} (the kernel ignores it)`);
    return null;
  }
  return {
    offset,
    version,
    pmcsr,
    noSoftReset: (pmcsr & R.PCI_PM_CTRL_NO_SOFT_RESET) !== 0,
    powerState: pmcsr & R.PCI_PM_CTRL_STATE_MASK,
  };
}
