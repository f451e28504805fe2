import type { Command } from 'commander';
import { jsonText } from '../json-out.js';
import { scanWithoutListing } from '../../scan/scan-without-listing.js';
import { assessIommu } from '../../iommu/assess.js';
import { renderIommuReport } from '../../iommu/render-report.js';
import { openRoot } from '../../access/open-root.js';
import { requireNamedFiles } from '../../access/named-files.js';

export function registerIommu(program: Command): void {
  program
    .command('iommu')
    .description('which DMA case holds: is this a capture kernel, was translation on in the crashed kernel, is it on now, were tables copied (read-only)')
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--json', 'print the machine-readable document (schema in docs/json.md)')
    .option('--kmsg <file>', 'read this kernel log (a saved /dev/kmsg, dmesg or journal export) instead of ROOT/dev/kmsg')
    .option('--old-log <file>', 'read this file as the crashed kernel\'s log instead of running vmcore-dmesg')
    .option('--no-registers', 'do not read IOMMU registers through /dev/mem')
    .action(async (opts: { root: string; json?: boolean; kmsg?: string; oldLog?: string; registers: boolean }) => {
      requireNamedFiles({ '--kmsg': opts.kmsg, '--old-log': opts.oldLog });
      const { root, access } = openRoot(opts.root);
      // The verdict needs no PCI listing (ACPI tables, the kernel log, registers): without one it is
      // still given, the listing's absence named among the report's problems.
      const { result, listingProblem } = scanWithoutListing(access, opts.root);
      const report = await assessIommu(root, result, { kmsgFile: opts.kmsg, oldLogFile: opts.oldLog, readRegisters: opts.registers });
      if (listingProblem !== null) report.problems.push(`${listingProblem}; the verdict stands, but no function could be matched to an IOMMU unit`);
      process.stdout.write(opts.json ? jsonText(report) : renderIommuReport(report));
    });
}
