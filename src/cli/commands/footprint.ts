import type { Command } from 'commander';
import { footprint, renderFootprint } from '../../footprint/footprint.js';
import { openRoot } from '../../access/open-root.js';

export function registerFootprint(program: Command): void {
  program
    .command('footprint')
    .description("what the agent adds to the kdump image, and the crashkernel= it needs next to this kernel's (read-only)")
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--image <file>', 'the kdump initramfs (default: kdump-tools\' or mkdumprd\'s for the running kernel)')
    .option('--json', 'print the machine-readable document')
    .action((opts: { root: string; image?: string; json?: boolean }) => {
      // A root that does not exist is status 1 with one line naming it, as for every other command.
      openRoot(opts.root);
      const f = footprint({ root: opts.root, ...(opts.image !== undefined ? { image: opts.image } : {}) });
      process.stdout.write(opts.json ? `${JSON.stringify(f, null, 2)}\n` : renderFootprint(f));
    });
}
