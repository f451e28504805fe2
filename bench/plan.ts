import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Root } from '../src/access/root.js';
import { SysfsAccess } from '../src/access/sysfs.js';
import { assessIommu } from '../src/iommu/assess.js';
import { generatedTree } from '../src/mock/examples/generated.js';
import { buildPlan } from '../src/plan/build-plan.js';
import { renderPlan } from '../src/plan/render-plan.js';
import { kernelFlagsFor } from '../src/quirks/kernel-flags.js';
import { loadQuirks } from '../src/quirks/load.js';
import { scan } from '../src/scan/scan.js';
import { median } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, '../src/cli/bin.js');

/** Median wall time of `fn` over `runs` runs after one warm-up, in ms. */
function timed<T>(fn: () => T, runs: number): { ms: number; value: T } {
  let value = fn();
  const all: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    value = fn();
    all.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  all.sort((a, b) => a - b);
  return { ms: all[Math.floor(runs / 2)]!, value };
}

/**
 * `plan` on generated machines: the whole command as a user runs it (a fresh node process, tree read
 * from disk, IOMMU verdict, plan, output), and the planner's own phases in-process. Median of 5 runs.
 */
export async function benchPlan(sizes = [1000, 5000], runs = 5): Promise<string> {
  const rows: string[] = [];
  const phases: string[] = [];
  for (const n of sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pra-bench-plan-${n}-`));
    try {
      generatedTree(n).write(dir);
      const kb = (k: number | null): string => (k === null ? 'n/a' : `${(k / 1024).toFixed(1)} MB`);
      const json = median(process.execPath, [BIN, 'plan', '--root', dir, '--json'], runs);
      const human = median(process.execPath, [BIN, 'plan', '--root', dir], runs);

      const root = new Root(dir);
      const { table } = loadQuirks(root, {});
      const flagsFor = kernelFlagsFor(table);
      const s = timed(() => scan(new SysfsAccess(new Root(dir)), dir, { flagsFor }), runs);
      const t0 = process.hrtime.bigint();
      const iommu = await assessIommu(root, s.value, { readRegisters: false });
      const iommuMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const p = timed(() => buildPlan({ scan: s.value, iommu, quirks: table, policy: {} }), runs);
      const r = timed(() => renderPlan(p.value, s.value), runs);
      const j = timed(() => JSON.stringify(p.value, null, 1), runs);
      const plan = p.value;
      const waves = new Set(plan.steps.map((x) => x.wave)).size;
      rows.push(
        `| ${n} | ${json.wallMs.toFixed(0)} ms | ${kb(json.peakRssKb)} | ${human.wallMs.toFixed(0)} ms | ${plan.steps.length} steps, ${waves} waves, ${plan.unresettable.length} unresettable | ${(j.value.length / 2 ** 20).toFixed(1)} MB |`,
      );
      phases.push(`| ${n} | ${s.ms.toFixed(0)} ms | ${iommuMs.toFixed(0)} ms (one run) | ${p.ms.toFixed(0)} ms | ${r.ms.toFixed(0)} ms | ${j.ms.toFixed(0)} ms |`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    '| functions | `plan --json` wall | peak RSS | `plan` (human) wall | plan | JSON size |',
    '|---:|---:|---:|---:|---|---:|',
    ...rows,
    '',
    'In-process phases (median, warm):',
    '',
    '| functions | scan | IOMMU verdict | `buildPlan` | human view | JSON |',
    '|---:|---:|---:|---:|---:|---:|',
    ...phases,
  ].join('\n');
}

// `node dist/bench/plan.js` runs this benchmark alone.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchPlan().then((t) => process.stdout.write(`${t}\n`));
}
