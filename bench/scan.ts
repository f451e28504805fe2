import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedTree } from '../src/mock/examples/generated.js';
import { median } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled CLI, run with the same node flags as its shebang. */
const BIN = path.resolve(here, '../src/cli/bin.js');
const NODE_ARGS = ['--max-semi-space-size=1', BIN];

/**
 * `scan --json` against `lspci -vvv -nn` (pciutils' sysfs backend) on the same generated trees,
 * wall time and peak RSS, median of 5 warm runs each.
 */
export async function benchScan(sizes = [1000, 5000], runs = 5): Promise<string> {
  const rows: string[] = [];
  for (const n of sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pra-bench-${n}-`));
    try {
      generatedTree(n).write(dir);
      const ours = median(process.execPath, [...NODE_ARGS, 'scan', '--root', dir, '--json'], runs);
      const theirs = median('lspci', ['-A', 'linux-sysfs', '-O', `sysfs.path=${dir}/sys/bus/pci`, '-vvv', '-nn'], runs);
      const kb = (k: number | null): string => (k === null ? 'n/a' : `${(k / 1024).toFixed(1)} MB`);
      rows.push(
        `| ${n} | ${ours.wallMs.toFixed(0)} ms | ${theirs.wallMs.toFixed(0)} ms | ${(ours.wallMs / theirs.wallMs).toFixed(2)} | ${kb(ours.peakRssKb)} | ${kb(theirs.peakRssKb)} |`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    '| functions | `scan --json` wall | `lspci -vvv -nn` wall | ratio | scan peak RSS | lspci peak RSS |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
