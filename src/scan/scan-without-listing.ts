import { AccessError } from '../access/access-error.js';
import type { PciAccess } from '../access/access.js';
import { scan, type ScanOptions } from './scan.js';
import type { ScanResult } from './scan-result.js';

/** A scan, or, when the PCI listing itself cannot be read, no functions and the reason. */
export interface TolerantScan {
  result: ScanResult;
  /** Why the listing could not be read (a link loop at sys/bus, no `devices`), as a sentence; null when it was. */
  listingProblem: string | null;
}

/**
 * For the commands that still have something to say without the PCI listing: `iommu` (the verdict rests
 * on ACPI tables, the kernel log and registers) and `apply` (which must leave a report and a kernel-log
 * event whatever it met). An unreadable listing becomes an empty scan with the listing named as a
 * problem; `scan` itself still fails on it.
 */
export function scanWithoutListing(access: PciAccess, rootLabel: string, options: ScanOptions = {}): TolerantScan {
  try {
    return { result: scan(access, rootLabel, options), listingProblem: null };
  } catch (err) {
    if (!(err instanceof AccessError)) throw err;
    const problem = `${err.message}: no PCI function was read`;
    return { result: { root: rootLabel, devices: [], problems: [problem] }, listingProblem: problem };
  }
}
