import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { disableFsAt } from '../native-bindings/fs-at.js';
import { forceWalk } from '../src/access/open-in-root.js';
import { Root } from '../src/access/root.js';
import { SysfsAccess } from '../src/access/sysfs.js';
import { generatedTree } from '../src/mock/examples/generated.js';
import { scan } from '../src/scan/scan.js';

/**
 * What confinement at every use costs the scan: the same 5,000-function tree scanned in this process
 * (no Node start-up, no JSON), median of `runs` warm runs, with each way of opening files:
 * - `openat2`: the default, every open resolved by the kernel with RESOLVE_IN_ROOT, a function's files
 *   opened relative to one directory fd;
 * - `openat walk`: the fallback for kernels before 5.6, one openat per path component;
 * - `no koffi`: node:fs calls through /proc/self/fd/N (what runs where koffi cannot load).
 * Modes are interleaved run by run, so load on the machine falls on all of them alike.
 *
 * With PRA_SCAN_BEFORE=DIR (the compiled tree, `tsc` output, of a build from before confinement at every
 * use, e.g. main at f0e3bf8), that build's own Root, SysfsAccess and scan() run as one more mode, `before`.
 */
export async function benchScanConfinement(n = 5000, runs = 7): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pra-bench-confine-${n}-`));
  const beforeDir = process.env.PRA_SCAN_BEFORE;
  type ScanFn = (root: string) => { devices: unknown[] };
  let before: ScanFn | null = null;
  if (beforeDir) {
    const imp = (rel: string): Promise<Record<string, unknown>> => import(pathToFileURL(path.join(beforeDir, rel)).href) as Promise<Record<string, unknown>>;
    const [{ Root: OldRoot }, { SysfsAccess: OldSysfs }, { scan: oldScan }] = await Promise.all([imp('src/access/root.js'), imp('src/access/sysfs.js'), imp('src/scan/scan.js')]);
    before = (root) => (oldScan as (a: unknown, r: string) => { devices: unknown[] })(new (OldSysfs as new (r: unknown) => unknown)(new (OldRoot as new (d: string) => unknown)(root)), root);
  }
  const modes = [...(before ? ['before'] : []), 'openat2', 'openat walk', 'no koffi'] as const;
  const times: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  try {
    generatedTree(n).write(dir);
    for (let r = 0; r < runs + 1; r++) {
      for (const mode of modes) {
        forceWalk(mode === 'openat walk');
        disableFsAt(mode === 'no koffi');
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const result = mode === 'before' ? before!(dir) : scan(new SysfsAccess(new Root(dir)), dir);
        const wall = performance.now() - t0;
        const c = process.cpuUsage(c0);
        if (result.devices.length !== n) throw new Error(`${mode}: ${result.devices.length} of ${n} functions`);
        // The first round warms caches and loads koffi; not counted.
        if (r > 0) {
          times[mode]!.push(wall);
          cpu[mode]!.push((c.user + c.system) / 1000);
        }
      }
    }
  } finally {
    forceWalk(false);
    disableFsAt(false);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = med(cpu[before ? 'before' : 'openat2']!);
  const baseWall = med(times[before ? 'before' : 'openat2']!);
  const ref = before ? 'before' : 'openat2';
  return [
    `| ${n} functions, in-process \`scan()\` | wall, median of ${runs} | wall ÷ ${ref} | CPU (user+sys), median | CPU ÷ ${ref} |`,
    '|---|---:|---:|---:|---:|',
    ...modes.map((m) => `| ${m} | ${med(times[m]!).toFixed(0)} ms | ${(med(times[m]!) / baseWall).toFixed(2)} | ${med(cpu[m]!).toFixed(0)} ms | ${(med(cpu[m]!) / base).toFixed(2)} |`),
  ].join('\n');
}

// `node dist/bench/scan-confinement.js` runs this benchmark alone (PRA_SCAN_BEFORE=DIR adds `before`).
if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  benchScanConfinement().then((t) => process.stdout.write(`${t}\n`));
}
