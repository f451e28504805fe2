import type { Root } from '../access/root.js';
import { assessIommu } from '../iommu/assess.js';
import type { IommuReport } from '../iommu/iommu-report.js';
import { parseSelectors, SelectorError, type Policy } from '../plan/policy.js';
import { kernelFlagsFor } from '../quirks/kernel-flags.js';
import { loadQuirks } from '../quirks/load.js';
import type { QuirkTable } from '../quirks/quirk-types.js';
import { scan } from '../scan/scan.js';
import { scanWithoutListing } from '../scan/scan-without-listing.js';
import type { ScanResult } from '../scan/scan-result.js';
import { EXIT } from '../errors/exit-codes.js';
import { UserError } from '../errors/user-error.js';
import { openRoot } from '../access/open-root.js';
import { printable } from '../text/escape.js';
import { requireNamedFiles } from '../access/named-files.js';

/**
 * The pipeline that gathers what the planner needs, below both the CLI and `apply`: open the root, load
 * the quirk tables, scan, weigh the IOMMU evidence. Reads only, never writes.
 */

/** What `plan`, `explain`, `audit` and `apply` ask for (their shared options, src/cli/commands/plan-options.ts). */
export interface PlanOptions {
  root: string;
  quirks: string[];
  only: string[];
  exclude: string[];
  all?: boolean;
  waveSize: string;
  json?: boolean;
  numeric?: boolean;
  kmsg?: string;
  oldLog?: string;
  registers: boolean;
  /** Not a command-line option: the device numbers ROOT/dev/kmsg must have (tests use a harmless one). */
  kmsgDevice?: { major: number; minor: number };
}

export interface PlanInputs {
  root: Root;
  scan: ScanResult;
  iommu: IommuReport;
  quirks: QuirkTable;
  policy: Policy;
  /** Quirk loading problems (kdump fallback); already written to stderr. */
  problems: string[];
  /** With `tolerateListing`: why the PCI listing could not be read (the scan is then empty); else null. */
  listingProblem: string | null;
}

/** Everything the planner needs, read from the root; reads only, never writes. */
export async function gatherPlanInputs(opts: PlanOptions, how: { tolerateListing?: boolean } = {}): Promise<PlanInputs> {
  const waveSize = Number(opts.waveSize);
  if (!Number.isInteger(waveSize) || waveSize < 1) throw new UserError(`--wave-size ${opts.waveSize}: expected a whole number of at least 1`, EXIT.USAGE);
  const policy: Policy = { only: opts.only, exclude: opts.exclude, all: opts.all === true, waveSize };
  try {
    parseSelectors(policy.only);
    parseSelectors(policy.exclude);
  } catch (err) {
    if (err instanceof SelectorError) throw new UserError(err.message, EXIT.USAGE);
    throw err;
  }
  requireNamedFiles({ '--kmsg': opts.kmsg, '--old-log': opts.oldLog });
  const { root, access } = openRoot(opts.root);
  // In a capture kernel a broken admin table must not stop anything: fall back and say so loudly.
  const kdump = root.exists('proc/vmcore');
  const { table, problems, warnings } = loadQuirks(root, { files: opts.quirks, kdump });
  for (const p of [...problems, ...warnings]) process.stderr.write(`pci-reset-agent: WARNING: ${printable(p)}\n`);
  // `apply` goes on without the listing (it must leave a report whatever it met); `plan` fails on it.
  const scanned = how.tolerateListing
    ? scanWithoutListing(access, opts.root, { flagsFor: kernelFlagsFor(table) })
    : { result: scan(access, opts.root, { flagsFor: kernelFlagsFor(table) }), listingProblem: null };
  const scanResult = scanned.result;
  const iommu = await assessIommu(root, scanResult, { kmsgFile: opts.kmsg, oldLogFile: opts.oldLog, readRegisters: opts.registers, kmsgDevice: opts.kmsgDevice });
  return { root, scan: scanResult, iommu, quirks: table, policy, problems, listingProblem: scanned.listingProblem };
}
