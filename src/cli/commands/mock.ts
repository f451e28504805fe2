import type { Command } from 'commander';
import * as fs from 'node:fs';
import { laptopTree } from '../../mock/examples/laptop.js';
import { serverTree } from '../../mock/examples/server.js';
import { generatedTree } from '../../mock/examples/generated.js';
import { kdumpVmTree } from '../../mock/examples/kdump-vm.js';
import { CliError } from '../fail.js';
import { EXIT } from '../exit-codes.js';

export function registerMock(program: Command): void {
  program
    .command('mock')
    .description('write an example tree (server, laptop, kdump-vm or generated:N) that every command can read with --root')
    .argument('<kind>', 'server | laptop | kdump-vm | generated:N')
    .requiredOption('--out <dir>', 'directory to create (must not exist or be empty)')
    .action((kind: string, opts: { out: string }) => {
      if (fs.existsSync(opts.out) && fs.readdirSync(opts.out).length > 0) {
        throw new CliError(`--out ${opts.out}: exists and is not empty; refusing to write into it`);
      }
      const m = /^generated:(\d+)$/.exec(kind);
      const tree = kind === 'server' ? serverTree() : kind === 'laptop' ? laptopTree() : kind === 'kdump-vm' ? kdumpVmTree() : m ? generatedTree(parseInt(m[1]!, 10)) : null;
      if (!tree) throw new CliError(`unknown mock kind ${JSON.stringify(kind)}: use server, laptop, kdump-vm or generated:N`, EXIT.USAGE);
      tree.write(opts.out);
      process.stdout.write(`${opts.out}: ${tree.functions.length} functions\n`);
    });
}
