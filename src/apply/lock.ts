import * as fs from 'node:fs';
import { LOCK_EX, LOCK_NB, SysError } from '../../native-bindings/fs-at.js';
import { AccessError } from '../access/access-error.js';
import { checkKind, LOCK_CONTENT } from '../access/bounded-read.js';
import { DirOps, writeAll } from '../access/dir-ops.js';
import type { Root } from '../access/root.js';

/** Under the root: the agent's run directory (report, lock). */
export const RUN_DIR = 'run/pci-reset-agent';
const LOCK_NAME = 'apply.lock';
export const LOCK_FILE = `${RUN_DIR}/${LOCK_NAME}`;

const { O_RDWR, O_CREAT, O_NONBLOCK, O_NOCTTY } = fs.constants;

export class LockHeld extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`${path}: another pci-reset-agent apply is running (${pid > 0 ? `pid ${pid}` : 'pid unknown'})`);
    this.name = 'LockHeld';
  }
}

export interface LockHandle {
  path: string;
  /** Set when a stale lock (dead PID, unreadable content, not a file) was taken over. */
  recovered: string | null;
  release(): void;
}

/** Points between the steps of taking the lock, where tests put a rival agent or a delay. */
export type LockPhase = 'opened' | 'locked' | 'checked' | 'written';
export interface LockOptions {
  alive?: (pid: number) => boolean;
  at?: (phase: LockPhase) => void;
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

/** The run directory, created if missing, opened by fd (links followed inside the root, never out of it). */
export function openRunDir(root: Root): DirOps {
  return new DirOps(root, root.openDirCreating(RUN_DIR));
}

/** Attempts before giving up on a lock file that keeps being replaced under us. */
const ATTEMPTS = 5;

/**
 * One agent at a time: ROOT/run/pci-reset-agent/apply.lock, held with flock(2) on an open fd for the
 * whole run and holding the owner's PID (for people and messages). The kernel drops the flock when its
 * holder dies, so a lock nobody holds is stale whatever it says, and taking it over is one atomic
 * flock: of two agents racing for a stale lock, exactly one gets it (the other sees EWOULDBLOCK).
 * After the flock the name is checked to still be the file locked (a holder that released in between
 * unlinked it). A symlink, FIFO or device under the lock's name is never followed nor read: it is
 * removed and reported. A lock naming a live process that holds no flock (an older agent, a reused PID)
 * is still refused. The content of a lock that is not a PID is never echoed.
 *
 * Needs flock(2) from koffi; without it takeLock() (take-lock.ts) holds an abstract socket name instead
 * (lock-without-flock.ts), never a lock file alone: unlink-and-create-again lets two racing agents both in.
 */
export function acquireLock(root: Root, options: LockOptions | ((pid: number) => boolean) = {}): LockHandle {
  const opts: LockOptions = typeof options === 'function' ? { alive: options } : options;
  const alive = opts.alive ?? pidAlive;
  const hook = opts.at ?? ((): void => {});
  const label = root.lexical(LOCK_FILE);
  const dir = openRunDir(root);
  const at = root.fsAt;
  if (!at) {
    dir.close();
    throw new AccessError('ENOSYS', label, 'flock(2) is not available (koffi did not load): take the lock with takeLock()');
  }
  const notes: string[] = [];
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let fd: number;
      try {
        fd = dir.open(LOCK_NAME, O_RDWR | O_CREAT | O_NONBLOCK | O_NOCTTY);
      } catch (err) {
        const code = (err as SysError).code;
        // O_NOFOLLOW on a link: ELOOP. A FIFO with no writer opened O_RDWR does not block; ENXIO is a socket.
        if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') {
          removeNotLock(dir, label, code === 'ELOOP' ? 'a symbolic link' : code === 'EISDIR' ? 'a directory' : 'a socket', notes);
          continue;
        }
        throw AccessError.from(err, label, 'cannot open the lock');
      }
      let keep = false;
      try {
        const st = root.statFd(fd);
        try {
          checkKind(st, label, LOCK_CONTENT);
        } catch (err) {
          if ((err as AccessError).code === 'EFBIG') {
            // An oversized lock file is garbage, taken over below like any unreadable one.
          } else {
            fs.closeSync(fd);
            fd = -1;
            removeNotLock(dir, label, describeType(st.mode), notes);
            continue;
          }
        }
        if (st.nlink > 1) {
          // A hard link planted under the lock's name (tmpfs allows them; sysfs does not): writing our PID
          // would write through to the other name, wherever it is. Drop our name; the file stays untouched.
          fs.closeSync(fd);
          fd = -1;
          removeNotLock(dir, label, `a file with ${st.nlink} hard links`, notes);
          continue;
        }
        hook('opened');
        try {
          at.flock(fd, LOCK_EX | LOCK_NB);
        } catch (err) {
          if ((err as SysError).code === 'EWOULDBLOCK' || (err as SysError).code === 'EAGAIN') throw new LockHeld(label, readPid(fd, label) ?? -1);
          throw AccessError.from(err, label, 'flock');
        }
        hook('locked');
        // Released (unlinked) by its holder between our open and our flock: not the lock any more.
        let now: { ino: bigint } | null = null;
        try {
          now = dir.lstat(LOCK_NAME);
        } catch {
          now = null;
        }
        if (now === null || now.ino !== st.ino) continue;
        hook('checked');
        const text = readContent(fd, label);
        const pid = text !== null && /^\d+\n?$/.test(text) ? parseInt(text, 10) : NaN;
        if (Number.isFinite(pid) && pid !== process.pid && pid > 0 && alive(pid)) throw new LockHeld(label, pid);
        if (text === null) notes.push(`unreadable lock (more than ${LOCK_CONTENT.max} bytes, not a PID) taken over`);
        else if (Number.isFinite(pid)) {
          if (pid !== process.pid) notes.push(`stale lock of pid ${pid} (not running) taken over`);
        } else if (text !== '') notes.push(`unreadable lock (${Buffer.byteLength(text)} bytes, not a PID) taken over`);
        fs.ftruncateSync(fd, 0);
        writeAll(fd, Buffer.from(`${process.pid}\n`), 0);
        hook('written');
        keep = true;
        return handle(root, dir, fd, label, notes);
      } finally {
        if (!keep && fd >= 0) fs.closeSync(fd);
      }
    }
    throw new AccessError('EAGAIN', label, `the lock file kept changing under us (${ATTEMPTS} attempts)`);
  } catch (err) {
    dir.close();
    throw err;
  }
}

function handle(root: Root, dir: DirOps, fd: number, label: string, notes: string[]): LockHandle {
  const ino = root.statFd(fd).ino;
  let released = false;
  return {
    path: label,
    recovered: notes.length ? notes.join('; ') : null,
    release() {
      if (released) return;
      released = true;
      try {
        // Unlinked while still flocked, so a rival that opened it waits for our close, then sees it gone.
        if (dir.lstat(LOCK_NAME).ino === ino) dir.unlink(LOCK_NAME);
      } catch {
        // Already gone: nothing to release.
      }
      fs.closeSync(fd);
      dir.close();
    },
  };
}

/** Remove what stands under the lock's name but is not a lock file: never followed, never read. */
function removeNotLock(dir: DirOps, label: string, what: string, notes: string[]): void {
  try {
    if (what === 'a directory') throw new AccessError('EISDIR', label, 'a directory in place of the lock: refused');
    dir.unlink(LOCK_NAME);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw AccessError.from(err, label);
  }
  notes.push(`${what} in place of the lock, removed (never followed nor read)`);
}

/** The lock's text, or null when it is longer than any PID line. */
function readContent(fd: number, label: string): string | null {
  try {
    const buf = Buffer.allocUnsafe(LOCK_CONTENT.max + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return n > LOCK_CONTENT.max ? null : buf.subarray(0, n).toString('latin1');
  } catch (err) {
    throw AccessError.from(err, label, 'cannot read the lock');
  }
}

function readPid(fd: number, label: string): number | null {
  const text = readContent(fd, label);
  return text !== null && /^\d+\n?$/.test(text) ? parseInt(text, 10) : null;
}

function describeType(mode: number): string {
  const t = mode & 0o170000;
  return t === 0o010000 ? 'a FIFO' : t === 0o020000 ? 'a character device' : t === 0o060000 ? 'a block device' : t === 0o140000 ? 'a socket' : 'something that is not a file';
}
