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
import { bounded, iterations, Prng, seed } from './prng.js';

/** Every path (files, dirs, links) under a tree, relative. */
function entries(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let list: fs.Dirent[];
    try {
      list = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of list) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(r);
    }
  };
  walk('');
  return out;
}

/**
 * A canary outside the root: a config space whose vendor is 0xdead. Links in the mutated tree point at it
 * by absolute and by climbing relative paths; it must never show up in a scan.
 */
function canary(): string {
  const dir = tmpDir('pra-canary-');
  const cfg = new Uint8Array(256);
  cfg.set([0xad, 0xde, 0xef, 0xbe], 0);
  fs.writeFileSync(path.join(dir, 'config'), cfg);
  fs.writeFileSync(path.join(dir, 'vendor'), '0xdead\n');
  return dir;
}

function mutateTree(rng: Prng, root: string, outside: string): string[] {
  const done: string[] = [];
  const all = entries(path.join(root, 'sys'));
  const count = 1 + rng.int(5);
  for (let i = 0; i < count && all.length; i++) {
    const rel = `sys/${rng.pick(all)}`;
    const p = path.join(root, rel);
    const kind = rng.int(8);
    try {
      switch (kind) {
        case 0: // a file replaced by a directory
          fs.rmSync(p, { recursive: true, force: true });
          fs.mkdirSync(p);
          break;
        case 1: // a link out of the tree, absolute
          fs.rmSync(p, { recursive: true, force: true });
          fs.symlinkSync(path.join(outside, rng.pick(['config', 'vendor', ''])), p);
          break;
        case 2: // a link climbing out with ..
          fs.rmSync(p, { recursive: true, force: true });
          fs.symlinkSync(`${'../'.repeat(1 + rng.int(20))}${path.basename(outside)}/config`, p);
          break;
        case 3: // a link loop
          fs.rmSync(p, { recursive: true, force: true });
          fs.symlinkSync(path.basename(p), p);
          break;
        case 4: // gone
          fs.rmSync(p, { recursive: true, force: true });
          break;
        case 5: // a dangling link
          fs.rmSync(p, { recursive: true, force: true });
          fs.symlinkSync('../nowhere/at/all', p);
          break;
        case 6: // a file cut short or filled with junk
          if (fs.lstatSync(p).isFile()) fs.writeFileSync(p, rng.bytes(rng.int(80)));
          break;
        default: // a name that is not UTF-8 in the listing
          fs.symlinkSync('../../../devices', Buffer.concat([Buffer.from(path.join(root, 'sys/bus/pci/devices/')), Buffer.from([0xff, 0xfe, 0x3a, 0x80])]) as unknown as string);
      }
      done.push(`${kind}:${rel}`);
    } catch {
      // The entry vanished in an earlier mutation of this round; nothing to do.
    }
  }
  return done;
}

const rounds = iterations(40);

describe('fuzz: scan over mutated trees', () => {
  it('broken links, loops, files replaced by directories, non-UTF-8 names, links out of the root', { timeout: Math.max(60_000, rounds * 2_000) }, () => {
    const rng = new Prng(seed() + 7);
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
  });
});
