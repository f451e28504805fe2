import type { Command } from 'commander';
import type { Root } from '../../access/root.js';
import { assessIommu } from '../../iommu/assess.js';
import type { IommuReport } from '../../iommu/iommu-report.js';
import { parseSelectors, SelectorError, type Policy } from '../../plan/policy.js';
import { DEFAULT_WAVE_SIZE } from '../../plan/waves.js';
import { kernelFlagsFor } from '../../quirks/kernel-flags.js';
import { loadQuirks } from '../../quirks/load.js';
import type { QuirkTable } from '../../quirks/quirk-types.js';
import { scan } from '../../scan/scan.js';
import { scanWithoutListing } from '../../scan/scan-without-listing.js';
import type { ScanResult } from '../../scan/scan-result.js';
import { EXIT } from '../exit-codes.js';
import { CliError } from '../fail.js';
import { openRoot } from '../open-root.js';
import { NUMERIC_FLAGS, NUMERIC_HELP } from '../naming.js';
import { printable } from '../../text/escape.js';
import { requireNamedFiles } from '../named-files.js';

/** Options `plan` and `explain` share. */
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
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function addPlanOptions(cmd: Command): Command {
  return cmd
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--quirks <file>', 'read this quirk table after the default and admin tables (repeatable)', collect, [])
    .option('--only <selector>', 'plan only these: BDF, vendor:device (8086:1572, 8086:*) or class=CC[SS] (repeatable, or comma-separated)', collect, [])
    .option('--exclude <selector>', 'never touch these, nor any bus reset that would reach them (repeatable, or comma-separated)', collect, [])
    .option('--all', 'reset in IOMMU case 1 too (stray DMA is harmless there, so nothing is reset by default)')
    .option('--wave-size <n>', 'most steps in one wave that reset through the kernel (each holds a thread); 4 times as many in all (steps of a wave may run at the same time)', String(DEFAULT_WAVE_SIZE))
    .option('--json', 'print the machine-readable document (schema in docs/json.md)')
    .option(NUMERIC_FLAGS, NUMERIC_HELP)
    .option('--kmsg <file>', 'read this kernel log instead of ROOT/dev/kmsg (IOMMU verdict)')
    .option('--old-log <file>', 'read this file as the crashed kernel\'s log (IOMMU verdict)')
    .option('--no-registers', 'do not read IOMMU registers through /dev/mem (IOMMU verdict)');
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
  if (!Number.isInteger(waveSize) || waveSize < 1) throw new CliError(`--wave-size ${opts.waveSize}: expected a whole number of at least 1`, EXIT.USAGE);
  const policy: Policy = { only: opts.only, exclude: opts.exclude, all: opts.all === true, waveSize };
  try {
    parseSelectors(policy.only);
    parseSelectors(policy.exclude);
  } catch (err) {
    if (err instanceof SelectorError) throw new CliError(err.message, EXIT.USAGE);
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
  const iommu = await assessIommu(root, scanResult, { kmsgFile: opts.kmsg, oldLogFile: opts.oldLog, readRegisters: opts.registers, kmsgDevice: (opts as { kmsgDevice?: { major: number; minor: number } }).kmsgDevice });
  return { root, scan: scanResult, iommu, quirks: table, policy, problems, listingProblem: scanned.listingProblem };
}
