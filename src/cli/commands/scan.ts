import type { Command } from 'commander';
import { scan } from '../../scan/scan.js';
import { renderTree } from '../../scan/render-tree.js';
import { openRoot } from '../open-root.js';

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('read every PCI function under the root: IDs, capabilities, topology, reset methods (read-only)')
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--json', 'print the machine-readable document (schema in README)')
    .action((opts: { root: string; json?: boolean }) => {
      const { access } = openRoot(opts.root);
      const result = scan(access, opts.root);
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 1)}\n` : renderTree(result));
    });
}
