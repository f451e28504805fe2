import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Root } from '../access/root.js';

/** Under the root: the agent's run directory (report, lock). */
export const RUN_DIR = 'run/pci-reset-agent';
export const LOCK_FILE = `${RUN_DIR}/apply.lock`;

export class LockHeld extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`${path}: another pci-reset-agent apply is running (pid ${pid})`);
    this.name = 'LockHeld';
  }
}

export interface LockHandle {
  path: string;
  /** Set when a stale lock (dead PID or unreadable content) was taken over. */
  recovered: string | null;
  release(): void;
}

/** process.kill(pid, 0): ESRCH means gone; EPERM means alive but not ours. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Host path of the run directory, created if missing (links inside the root followed, never out of it). */
export function runDir(root: Root): string {
  const dir = root.resolve(RUN_DIR);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/**
 * One agent at a time: ROOT/run/pci-reset-agent/apply.lock holds the owner's PID. Created atomically
 * (written aside, then link(2), which fails if the lock exists). A lock whose PID is dead, or whose
 * content is not a PID, is stale: taken over once, and reported.
 */
export function acquireLock(root: Root, alive: (pid: number) => boolean = pidAlive): LockHandle {
  const dir = runDir(root);
  const lock = path.join(dir, path.basename(LOCK_FILE));
  const mine = `${process.pid}\n`;
  const aside = `${lock}.${process.pid}.${Date.now()}`;
  fs.writeFileSync(aside, mine, { mode: 0o644 });
  let recovered: string | null = null;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(aside, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let text = '';
      try {
        text = fs.readFileSync(lock, 'utf8');
      } catch {
        text = '';
      }
      const pid = /^\d+\n?$/.test(text) ? parseInt(text, 10) : NaN;
      if (Number.isFinite(pid) && pid !== process.pid && alive(pid)) throw new LockHeld(lock, pid);
      if (attempt > 0) throw new LockHeld(lock, Number.isFinite(pid) ? pid : -1);
      recovered = Number.isFinite(pid) ? `stale lock of pid ${pid} (not running) taken over` : `unreadable lock ${JSON.stringify(text.slice(0, 20))} taken over`;
      try {
        fs.unlinkSync(lock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
  return {
    path: lock,
    recovered,
    release() {
      try {
        if (fs.readFileSync(lock, 'utf8') === mine) fs.unlinkSync(lock);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}
