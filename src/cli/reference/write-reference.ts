/**
 * Writes the man page and the bash completion generated from the CLI's own commander definitions:
 *   node dist/src/cli/reference/write-reference.js OUTDIR
 *   -> OUTDIR/pci-reset-agent.8, OUTDIR/pci-reset-agent.bash-completion
 * scripts/package-deb.sh runs it, so the package always carries the reference of the CLI it ships.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildProgram } from '../main.js';
import { bashCompletion } from './bash-completion.js';
import { commandTree } from './command-tree.js';
import { manPage } from './man-page.js';

export async function writeReference(outdir: string): Promise<string[]> {
  const program = await buildProgram();
  const tree = commandTree(program);
  const name = program.name();
  fs.mkdirSync(outdir, { recursive: true });
  const man = path.join(outdir, `${name}.8`);
  const completion = path.join(outdir, `${name}.bash-completion`);
  fs.writeFileSync(man, manPage({ tree, program: name, version: program.version() ?? '' }));
  fs.writeFileSync(completion, bashCompletion(tree, name));
  return [man, completion];
}

const outdir = process.argv[2];
if (outdir !== undefined && process.argv[1] !== undefined && /write-reference\.[jt]s$/.test(process.argv[1])) {
  for (const f of await writeReference(path.resolve(outdir))) process.stdout.write(`${f}\n`);
}
