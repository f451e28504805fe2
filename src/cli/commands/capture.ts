import type { Command } from 'commander';
import { capture } from '../../capture/capture.js';
import { openRoot } from '../../access/open-root.js';
import { printable } from '../../text/escape.js';

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description('snapshot this machine (or --root) into a mock tree that scan reads back identically (read-only on the source)')
    .requiredOption('--out <dir>', 'directory to create (must not exist or be empty)')
    .option('--root <dir>', 'directory that stands in for /', '/')
    .action((opts: { out: string; root: string }) => {
      const { root, access } = openRoot(opts.root);
      const summary = capture(root, access, opts.out);
      process.stdout.write(`${printable(opts.out)}: ${summary.functions} functions, ${summary.files} files captured\n`);
      for (const w of summary.warnings) process.stderr.write(`pci-reset-agent: capture: ${printable(w)}\n`);
    });
}
