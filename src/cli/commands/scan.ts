import type { Command } from 'commander';
import { scan, scanStream } from '../../scan/scan.js';
import { renderTree } from '../../scan/render-tree.js';
import { writeScanJson } from '../../scan/write-json.js';
import { openRoot } from '../../access/open-root.js';
import { namingFor, NUMERIC_FLAGS, NUMERIC_HELP } from '../naming.js';
import { kernelFlagsFor } from '../../quirks/kernel-flags.js';
import { defaultTable } from '../../quirks/load.js';

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('read every PCI function under the root: IDs, capabilities, topology, reset methods (read-only)')
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--json', 'print the machine-readable document (schema in docs/json.md)')
    .option(NUMERIC_FLAGS, NUMERIC_HELP)
    .action((opts: { root: string; json?: boolean; numeric?: boolean }) => {
      const { root, access } = openRoot(opts.root);
      // The kernel's NO_*_RESET quirk flags, from the default table's kernel-derived entries.
      const options = { flagsFor: kernelFlagsFor(defaultTable()) };
      if (opts.json) writeScanJson(scanStream(access, opts.root, options), (chunk) => process.stdout.write(chunk));
      else {
        const result = scan(access, opts.root, options);
        process.stdout.write(renderTree(result, namingFor(root, result.devices, opts.numeric)));
      }
    });
}
