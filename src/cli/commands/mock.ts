import type { Command } from 'commander';
import * as fs from 'node:fs';
import { generatedTree } from '../../mock/examples/generated.js';
import { EXAMPLES } from '../../mock/write-examples.js';
import { UserError } from '../../errors/user-error.js';
import { EXIT } from '../../errors/exit-codes.js';

export function registerMock(program: Command): void {
  program
    .command('mock')
    .description('write an example tree (one of examples/: server, laptop, kdump-server, kdump-vm; or generated:N) that every command can read with --root')
    .argument('<kind>', 'server | laptop | kdump-server | kdump-vm | generated:N')
    .requiredOption('--out <dir>', 'directory to create (must not exist or be empty)')
    .action((kind: string, opts: { out: string }) => {
      if (fs.existsSync(opts.out) && fs.readdirSync(opts.out).length > 0) {
        throw new UserError(`--out ${opts.out}: exists and is not empty; refusing to write into it`);
      }
      const m = /^generated:(\d+)$/.exec(kind);
      const tree = Object.hasOwn(EXAMPLES, kind) ? EXAMPLES[kind]!() : m ? generatedTree(parseInt(m[1]!, 10)) : null;
      if (!tree) throw new UserError(`unknown mock kind ${JSON.stringify(kind)}: use ${Object.keys(EXAMPLES).join(', ')} or generated:N`, EXIT.USAGE);
      tree.write(opts.out);
      process.stdout.write(`${opts.out}: ${tree.functions.length} functions\n`);
    });
}
