/**
 * The Readiness Time Reporting extended capability (ID 0x22, PCIe r4.0 7.9.17): how long the function
 * needs after a Conventional Reset, after its link came up, after an FLR and after D3hot->D0, each as a
 * 9-bit value times 32^scale ns. Linux 6.18.19 does not read it (no PCI_EXT_CAP_ID for it in pci_regs.h);
 * the agent uses it for the waits where it is valid (issue 12, "newer kernel facilities").
 */
export const PCI_EXT_CAP_ID_RTR = 0x22;

export interface ReadinessTimes {
  /** Reg 1 bit 31: every time below is valid. Invalid times are null. */
  valid: boolean;
  /** After a Conventional Reset (a bus reset): ms. */
  resetMs: number | null;
  /** After the link came up (DL_Up): ms. */
  dlUpMs: number | null;
  /** After an FLR: ms. */
  flrMs: number | null;
  /** After D3hot->D0: ms. */
  d3hotToD0Ms: number | null;
}

/** One 12-bit time field: value (8:0) × 32^scale (11:9) ns; scales above 5 are reserved (null). */
export function readinessTimeMs(field: number): number | null {
  const value = field & 0x1ff;
  const scale = (field >>> 9) & 0x7;
  if (scale > 5) return null;
  return (value * 32 ** scale) / 1e6;
}

/** Decode from the two registers at +4 and +8. */
export function decodeReadinessTimes(reg1: number, reg2: number): ReadinessTimes {
  const valid = (reg1 & 0x80000000) !== 0;
  const t = (f: number): number | null => (valid ? readinessTimeMs(f) : null);
  return { valid, resetMs: t(reg1 & 0xfff), dlUpMs: t((reg1 >>> 12) & 0xfff), flrMs: t(reg2 & 0xfff), d3hotToD0Ms: t((reg2 >>> 12) & 0xfff) };
}

/** A time for a wait: whole milliseconds, rounded up (a wait is never shorter than the device says). */
export function waitMs(ms: number): number {
  return Math.ceil(ms);
}
