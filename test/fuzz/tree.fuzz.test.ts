import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessError } from '../../src/access/access-error.js';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { runApply } from '../../src/apply/run-apply.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { scan } from '../../src/scan/scan.js';
import { writeScanJson } from '../../src/scan/write-json.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { canary, entries, mutateTree, swapDirectory } from './mutate-tree.js';
import { bounded, iterations, Prng, report, seed } from './prng.js';

const rounds = iterations(40);

describe('fuzz: scan over mutated trees', () => {
  it('broken links, loops, files replaced by directories, non-UTF-8 names and link targets, links out of the root, FIFOs, device nodes, 1 GB files', { timeout: Math.max(180_000, rounds * 4_000) }, () => {
    const rng = new Prng(seed() + 7);
    const start = performance.now();
    const outside = canary();
    const base = serverTree();
    for (let i = 0; i < rounds; i++) {
      const root = base.write(path.join(tmpDir(), 'root'));
      const edits = mutateTree(rng, root, outside);
      let json = '';
      try {
        const result = bounded(`scan after ${edits.join(', ')}`, () => scan(new SysfsAccess(new Root(root)), root));
        writeScanJson(result, (c) => (json += c));
      } catch (err) {
        // Only the listing itself may fail, as one named error.
        expect(err, edits.join(', ')).toBeInstanceOf(AccessError);
        expect((err as Error).message).toMatch(/sys\/bus\/pci/);
        continue;
      }
      const doc = JSON.parse(json);
      for (const d of doc.devices) {
        expect(d.vendor, `canary leaked after ${edits.join(', ')}`).not.toBe('dead');
        for (const p of d.problems) expect(typeof p === 'string' && p.length > 0).toBe(true);
        expect(path.isAbsolute(d.path)).toBe(false);
      }
      fs.rmSync(path.dirname(root), { recursive: true, force: true });
    }
    report('mock trees (scan)', rounds, performance.now() - start);
  });
});

/** Regular files under `dir` (links not followed) with their bytes. */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const rel of entries(dir)) {
    const p = path.join(dir, rel);
    const st = fs.lstatSync(p);
    if (st.isFile() && st.size <= 65536) out.set(rel, fs.readFileSync(p));
  }
  return out;
}

describe('fuzz: directories swapped for links between scan and the writes apply makes', () => {
  it('every write lands on its own function, inside the root, or is refused by name', { timeout: Math.max(180_000, rounds * 4_000) }, () => {
    const rng = new Prng(seed() + 11);
    const start = performance.now();
    const base = serverTree();
    for (let i = 0; i < rounds; i++) {
      const outside = canary();
      const root = base.write(path.join(tmpDir(), 'root'));
      const access = new SysfsAccess(new Root(root));
      const s = scan(access, root);
      const paths = s.devices.map((d) => d.path);
      const swaps = [swapDirectory(rng, root, outside, paths), rng.next() < 0.5 ? swapDirectory(rng, root, outside, paths) : null].filter((x) => x !== null);
      const outsideBefore = files(outside);
      // Only sys/devices can change: the rest of the tree is not hashed (time on a loaded machine).
      const rootBefore = files(path.join(root, 'sys/devices'));
      // What apply would write: one register of every function, with a value naming the function.
      const mark = new Map<string, number>();
      s.devices.forEach((d, k) => mark.set(d.path, 1 + (k % 250)));
      for (const d of s.devices) {
        try {
          bounded(`write after ${swaps.join(', ')}`, () => access.writeConfigAt(d.bdf, 0x3c, 1, mark.get(d.path)!));
        } catch (err) {
          expect(err, `${d.bdf} after ${swaps.join(', ')}`).toBeInstanceOf(AccessError);
          expect(['ELOOP', 'ENOENT', 'ENOTDIR', 'ENODEV']).toContain((err as AccessError).code);
        }
      }
      expect(files(outside), `outside changed after ${swaps.join(', ')}`).toEqual(outsideBefore);
      for (const [relDev, bytes] of files(path.join(root, 'sys/devices'))) {
        const rel = `sys/devices/${relDev}`;
        const was = rootBefore.get(relDev);
        if (was && was.equals(bytes)) continue;
        // Only a function's own config may change, and only to its own mark.
        expect(rel.endsWith('/config'), `${rel} changed after ${swaps.join(', ')}`).toBe(true);
        expect(bytes[0x3c], `${rel} written with another function's value after ${swaps.join(', ')}`).toBe(mark.get(path.dirname(rel)));
      }
      fs.rmSync(path.dirname(root), { recursive: true, force: true });
    }
    report('swaps between scan and writes', rounds, performance.now() - start);
  });
});

describe('fuzz: directories swapped for links between the plan and the resets, through the whole apply', () => {
  const runs = Math.max(3, Math.ceil(rounds / 8));
  it('apply ends with a report; nothing outside the root changes; under sys/devices only reset files and config change', { timeout: Math.max(180_000, runs * 20_000) }, async () => {
    const rng = new Prng(seed() + 13);
    const start = performance.now();
    const RESET_FILES = new Set(['config', 'reset', 'reset_method', 'reset_subordinate']);
    let swapped = 0;
    for (let i = 0; i < runs; i++) {
      const outside = canary();
      const root = serverTree().file('proc/vmcore', '').file('proc/sys/kernel/osrelease', '6.1.0-26-amd64\n').write(path.join(tmpDir(), 'root'));
      let swaps: string[] = [];
      let outsideBefore = new Map<string, Buffer>();
      let rootBefore = new Map<string, Buffer>();
      const code = await runApply(
        {
          root, quirks: [], only: [], exclude: [], waveSize: '32', registers: false, deadline: 30_000, readyTimeout: 2_000, force: [], json: true,
          afterPlan: (s) => {
            rootBefore = files(path.join(root, 'sys/devices'));
            const paths = s.devices.map((d) => d.path);
            swaps = [swapDirectory(rng, root, outside, paths), rng.next() < 0.5 ? swapDirectory(rng, root, outside, paths) : null].filter((x) => x !== null);
            outsideBefore = files(outside);
          },
        },
        { out: () => {}, err: () => {} },
      );
      const what = swaps.join(', ') || 'no swap';
      if (swaps.length) swapped++;
      expect([0, 3, 4], `status ${code} after ${what}`).toContain(code);
      expect(fs.existsSync(path.join(root, 'run/pci-reset-agent/report.json')), `no report after ${what}`).toBe(true);
      expect(files(outside), `outside changed after ${what}`).toEqual(outsideBefore);
      for (const [rel, bytes] of files(path.join(root, 'sys/devices'))) {
        const was = rootBefore.get(rel);
        if (was && was.equals(bytes)) continue;
        expect(RESET_FILES.has(path.basename(rel)), `sys/devices/${rel} changed after ${what}`).toBe(true);
      }
      fs.rmSync(path.dirname(root), { recursive: true, force: true });
    }
    expect(swapped, 'no run swapped anything').toBeGreaterThan(0);
    report('swaps between the plan and the resets (whole apply)', runs, performance.now() - start);
  });
});
