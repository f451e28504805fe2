import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedTree } from '../src/mock/examples/generated.js';
import { median, type Run } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled CLI (what `npm start` runs), with the same node flags as its shebang. */
const BIN = path.resolve(here, '../src/cli/bin.js');
const FLOOR = path.resolve(here, 'scan-floor.js');
const NODE_FLAGS = ['--max-semi-space-size=1'];
const PROJECT = path.resolve(here, '../..');

/**
 * `scan --json` against `lspci -vvv -nn` (pciutils' sysfs backend) on the same generated trees, wall
 * time and peak RSS, median of 5 warm runs each. Two builds of the agent: the compiled CLI (`npm start`)
 * and the single-file bundle that goes into the kdump image. Two reference rows explain the rest: node
 * starting and exiting with nothing to do, and bench/scan-floor.ts (the scan's syscalls alone, no decoding).
 */
export async function benchScan(sizes = [1000, 5000], runs = 5): Promise<string> {
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-bundle-'));
  const bundle = buildBundle(bundleDir);
  const empty = path.join(bundleDir, 'empty.mjs');
  fs.writeFileSync(empty, '');
  const nodeStart = median(process.execPath, [...NODE_FLAGS, empty], runs);
  const rows: string[] = [];
  try {
    for (const n of sizes) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pra-bench-${n}-`));
      try {
        generatedTree(n).write(dir);
        const lspci = median('lspci', ['-A', 'linux-sysfs', '-O', `sysfs.path=${dir}/sys/bus/pci`, '-vvv', '-nn'], runs);
        const dist = median(process.execPath, [...NODE_FLAGS, BIN, 'scan', '--root', dir, '--json'], runs);
        const bundled = bundle ? median(process.execPath, [...NODE_FLAGS, bundle, 'scan', '--root', dir, '--json'], runs) : null;
        const floor = median(process.execPath, [...NODE_FLAGS, FLOOR, dir], runs);
        const ratio = (r: Run | null): string => (r ? (r.wallMs / lspci.wallMs).toFixed(2) : 'n/a');
        rows.push(
          `| ${n} | ${ms(lspci)} | ${ms(dist)} (${ratio(dist)}) | ${bundled ? `${ms(bundled)} (${ratio(bundled)})` : 'not built'} | ${ms(floor)} (${ratio(floor)}) | ${ms(nodeStart)} | ${mb(bundled ?? dist)} | ${mb(lspci)} |`,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(bundleDir, { recursive: true, force: true });
  }
  return [
    '| functions | `lspci -vvv -nn` | `scan --json`, compiled CLI (÷ lspci) | `scan --json`, bundle (÷ lspci) | syscalls only, node (÷ lspci) | node start, nothing to do | scan (bundle) peak RSS | lspci peak RSS |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

/** The kdump bundle, built into `dir` by the project's own script; null (row says so) without esbuild. */
function buildBundle(dir: string): string | null {
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'scripts/build-bundle.mjs'), '--outdir', dir, '--quiet'], { encoding: 'utf8' });
  const file = path.join(dir, 'pci-reset-agent.mjs');
  return r.status === 0 && fs.existsSync(file) ? file : null;
}

function ms(r: Run): string {
  return `${r.wallMs.toFixed(0)} ms`;
}

function mb(r: Run): string {
  return r.peakRssKb === null ? 'n/a' : `${(r.peakRssKb / 1024).toFixed(1)} MB`;
}
