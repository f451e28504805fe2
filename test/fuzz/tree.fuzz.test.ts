import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessError } from '../../src/access/access-error.js';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { scan } from '../../src/scan/scan.js';
import { writeScanJson } from '../../src/scan/write-json.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { canary, mutateTree } from './mutate-tree.js';
import { bounded, iterations, Prng, report, seed } from './prng.js';

const rounds = iterations(40);

describe('fuzz: scan over mutated trees', () => {
  it('broken links, loops, files replaced by directories, non-UTF-8 names, links out of the root', { timeout: Math.max(60_000, rounds * 2_000) }, () => {
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
