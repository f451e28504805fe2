import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
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
    const kind = rng.int(12);
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
        case 7: // a name that is not UTF-8 in the listing
          fs.symlinkSync('../../../devices', Buffer.concat([Buffer.from(path.join(root, 'sys/bus/pci/devices/')), Buffer.from([0xff, 0xfe, 0x3a, 0x80])]) as unknown as string);
          break;
        case 8: // a FIFO in place of a file (nobody ever writes to it: a blocking open or read waits for good)
          if (!fs.lstatSync(p).isFile()) continue;
          fs.rmSync(p);
          fs.renameSync(special('fifo'), p);
          break;
        case 9: // a device node in place of a file: /dev/zero's numbers (endless) or /dev/kmsg's
          if (!fs.lstatSync(p).isFile()) continue;
          if (mknodRefused !== null) {
            done.push(`9:skipped (${mknodRefused})`);
            continue;
          }
          fs.rmSync(p);
          fs.renameSync(special(rng.pick(['zero', 'kmsg'])), p);
          break;
        case 10: // a huge file (1 GB, sparse) in place of a file
          if (!fs.lstatSync(p).isFile()) continue;
          fs.truncateSync(p, 2 ** 30);
          break;
        default: {
          // a link whose target is not UTF-8, and a decoy at its lossy (U+FFFD) spelling
          if (!fs.lstatSync(p).isSymbolicLink()) continue;
          const target = fs.readlinkSync(p);
          const cut = target.lastIndexOf('/');
          if (cut <= 0) continue;
          const bad = Buffer.concat([Buffer.from(target.slice(0, cut + 1)), Buffer.from([0xff]), Buffer.from(target.slice(cut))]);
          fs.rmSync(p);
          fs.symlinkSync(bad as unknown as string, p);
          const decoyDir = path.join(path.dirname(p), target.slice(0, cut + 1), '\ufffd', target.slice(cut + 1));
          fs.mkdirSync(decoyDir, { recursive: true });
          fs.copyFileSync(path.join(outside, 'config'), path.join(decoyDir, 'config'));
        }
      }
      done.push(`${kind}:${rel}`);
    } catch {
      // The entry vanished in an earlier mutation of this round; nothing to do.
    }
  }
  return done;
}


/**
 * A fresh FIFO or device node, moved into place by rename(2): made 32 at a time with one mkfifo or mknod
 * process, since spawning one per mutation is most of a round's time on a loaded machine.
 */
const pool: Record<string, string[]> = { fifo: [], zero: [], kmsg: [] };
let poolDir: string | null = null;
function special(kind: 'fifo' | 'zero' | 'kmsg'): string {
  if (pool[kind]!.length === 0) {
    poolDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'pra-special-'));
    const names = Array.from({ length: 32 }, (_, i) => path.join(poolDir!, `${kind}-${Date.now()}-${i}`));
    const ok =
      kind === 'fifo'
        ? spawnSync('mkfifo', names).status === 0
        : spawnSync('sh', ['-c', `for n; do mknod "$n" c 1 ${kind === 'zero' ? 5 : 11} || exit 1; done`, 'sh', ...names]).status === 0;
    if (!ok) throw new Error(`cannot make ${kind} nodes`);
    pool[kind]!.push(...names);
  }
  return pool[kind]!.pop()!;
}

/** Why device nodes cannot be made here (not root, a nodev mount), or null when they can. */
export const mknodRefused: string | null = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-mknod-'));
  try {
    const r = spawnSync('mknod', [path.join(dir, 'zero'), 'c', '1', '5']);
    if (r.status !== 0) return `mknod not allowed: ${String(r.stderr).trim()}`;
    fs.closeSync(fs.openSync(path.join(dir, 'zero'), 'r'));
    return null;
  } catch (err) {
    return `device nodes cannot be opened here (${(err as NodeJS.ErrnoException).code})`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();

/**
 * Between scan and apply: a function's directory, or one above it, swapped for a link, to a copy outside
 * the root (absolute) or to another function's directory inside it. Returns what was done.
 */
export function swapDirectory(rng: Prng, root: string, outside: string, fnPaths: string[]): string | null {
  if (fnPaths.length === 0) return null;
  const fn = rng.pick(fnPaths);
  const parts = fn.split('/');
  // The function itself, or an ancestor below sys/devices.
  const depth = 3 + rng.int(Math.max(1, parts.length - 2));
  const rel = parts.slice(0, Math.min(depth, parts.length)).join('/');
  const p = path.join(root, rel);
  if (!fs.existsSync(p) || fs.lstatSync(p).isSymbolicLink()) return null;
  if (rng.next() < 0.5) {
    const copy = path.join(outside, `swap-${rng.int(1e9)}`);
    fs.cpSync(p, copy, { recursive: true, verbatimSymlinks: true });
    fs.rmSync(p, { recursive: true });
    fs.symlinkSync(copy, p);
    return `swap:${rel}->outside`;
  }
  const other = rng.pick(fnPaths);
  if (other.startsWith(rel)) return null;
  fs.rmSync(p, { recursive: true });
  fs.symlinkSync(path.relative(path.dirname(p), path.join(root, other)), p);
  return `swap:${rel}->${other}`;
}
