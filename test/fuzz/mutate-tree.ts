import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/tmp-root.js';
import type { Prng } from './prng.js';

/**
 * Damage a written mock tree the ways a crashed machine's sysfs, a bad capture or a hostile tree can be
 * damaged (tree.fuzz and plan.fuzz share it).
 */

/** Every path (files, dirs, links) under a tree, relative. */
export function entries(dir: string): string[] {
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
export function canary(): string {
  const dir = tmpDir('pra-canary-');
  const cfg = new Uint8Array(256);
  cfg.set([0xad, 0xde, 0xef, 0xbe], 0);
  fs.writeFileSync(path.join(dir, 'config'), cfg);
  fs.writeFileSync(path.join(dir, 'vendor'), '0xdead\n');
  return dir;
}

export function mutateTree(rng: Prng, root: string, outside: string, under: string[] = ['sys']): string[] {
  const done: string[] = [];
  const all = under.flatMap((u) => entries(path.join(root, u)).map((e) => `${u}/${e}`));
  const count = 1 + rng.int(5);
  for (let i = 0; i < count && all.length; i++) {
    const rel = rng.pick(all);
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

