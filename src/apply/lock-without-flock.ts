import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import { AccessError } from '../access/access-error.js';
import { checkKind, LOCK_CONTENT } from '../access/bounded-read.js';
import { DirOps, writeAll } from '../access/dir-ops.js';
import type { Root } from '../access/root.js';
import { LOCK_FILE, LockHeld, openRunDir, pidAlive, type LockHandle, type LockOptions } from './lock.js';

const LOCK_NAME = 'apply.lock';
const { O_RDONLY, O_NONBLOCK, O_NOCTTY } = fs.constants;

/**
 * The name of the lock where flock(2) is not available (koffi did not load): a socket in the abstract
 * namespace (unix(7): the name starts with a NUL byte and is no file), named for the root directory's
 * st_dev and st_ino, so every agent on the same root asks for the same name.
 */
export function lockSocketName(root: Root): string {
  const st = fs.fstatSync(root.rootFd, { bigint: true });
  return `\0pci-reset-agent:apply:${st.dev}:${st.ino}`;
}

/**
 * One agent at a time without flock: bind(2) of the root's abstract socket name is the lock. The kernel
 * lets one socket hold a name (unix_bind() → unix_bind_abstract(), net/unix/af_unix.c: -EADDRINUSE for
 * the second) and frees it when its holder's last fd closes, a process that died included; so of two
 * agents racing for a stale lock exactly one binds, whatever delay either suffers, and nothing stale is
 * ever left to take over. Holding the name, the agent owns apply.lock: whatever stands there is left over
 * (a link or a FIFO is replaced, never followed nor read) unless it names a live process, an agent that
 * locks by the file alone (refused, as acquireLock() does). The PID is written aside and renamed in.
 *
 * Limit: abstract names are per network namespace; two agents on one root from different network
 * namespaces would not see each other (a capture kernel has one).
 */
export async function acquireLockWithoutFlock(root: Root, opts: LockOptions = {}): Promise<LockHandle> {
  const alive = opts.alive ?? pidAlive;
  const hook = opts.at ?? ((): void => {});
  const label = root.lexical(LOCK_FILE);
  hook('opened');
  const server = await bindName(lockSocketName(root), label);
  let dir: DirOps;
  try {
    dir = openRunDir(root);
  } catch (err) {
    if (server !== HELD) server.close();
    throw err;
  }
  try {
    if (server === HELD) throw new LockHeld(label, readPid(dir, label) ?? -1);
    hook('locked');
    const notes: string[] = [];
    const left = leftOver(dir, label, alive);
    if (left) notes.push(left);
    hook('checked');
    const tmp = `${LOCK_NAME}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
    const fd = dir.createExclusive(tmp, 0o644);
    let ino: bigint;
    try {
      writeAll(fd, Buffer.from(`${process.pid}\n`), 0);
      ino = fs.fstatSync(fd, { bigint: true }).ino;
    } finally {
      fs.closeSync(fd);
    }
    try {
      // Replaces whatever has the name (a link itself, never its target); a directory there: EISDIR.
      dir.rename(tmp, LOCK_NAME);
    } catch (err) {
      try {
        dir.unlink(tmp);
      } catch {
        // never created
      }
      throw AccessError.from(err, label, 'cannot put the lock in place');
    }
    hook('written');
    let released = false;
    return {
      path: label,
      recovered: notes.length ? notes.join('; ') : null,
      release() {
        if (released) return;
        released = true;
        try {
          if (dir.lstat(LOCK_NAME).ino === ino) dir.unlink(LOCK_NAME);
        } catch {
          // already gone
        }
        dir.close();
        server.close();
      },
    };
  } catch (err) {
    dir.close();
    if (server !== HELD) server.close();
    throw err;
  }
}

const HELD = 'held' as const;

/** Bind the abstract name; HELD when another socket has it. Unref'd: the lock never keeps the process alive. */
function bindName(name: string, label: string): Promise<Server | typeof HELD> {
  // node:net only here (and only without koffi): nothing else in a run needs it at start-up.
  const net = createRequire(import.meta.url)('node:net') as typeof import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(HELD);
      else reject(AccessError.from(err, label, 'cannot bind the lock socket'));
    });
    server.listen({ path: name, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/**
 * What apply.lock holds now that the name is ours: nothing; a PID of a dead process or garbage (stale,
 * replaced); a live PID (an agent that locks by the file only: refused); something that is not a regular
 * file (replaced, never opened).
 */
function leftOver(dir: DirOps, label: string, alive: (pid: number) => boolean): string | null {
  let st: { mode: number };
  try {
    st = dir.lstat(LOCK_NAME);
  } catch {
    return null;
  }
  const type = st.mode & 0o170000;
  if (type === 0o120000) return 'a symbolic link in place of the lock, removed (never followed nor read)';
  if (type === 0o040000) throw new AccessError('EISDIR', label, 'a directory in place of the lock: refused');
  if (type !== 0o100000) return 'something that is not a file in place of the lock, removed (never followed nor read)';
  const text = readText(dir, label);
  const pid = text !== null && /^\d+\n?$/.test(text) ? parseInt(text, 10) : NaN;
  if (Number.isFinite(pid) && pid !== process.pid && pid > 0 && alive(pid)) throw new LockHeld(label, pid);
  if (text === null) return `unreadable lock (more than ${LOCK_CONTENT.max} bytes, not a PID) taken over`;
  if (Number.isFinite(pid)) return pid === process.pid ? null : `stale lock of pid ${pid} (not running) taken over`;
  return text === '' ? null : `unreadable lock (${Buffer.byteLength(text)} bytes, not a PID) taken over`;
}

/** The lock's text through the run directory's fd (never a link, never blocking), or null when too long. */
function readText(dir: DirOps, label: string): string | null {
  let fd: number;
  try {
    fd = dir.open(LOCK_NAME, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  } catch (err) {
    throw AccessError.from(err, label, 'cannot read the lock');
  }
  try {
    const st = fs.fstatSync(fd);
    try {
      checkKind({ mode: st.mode, size: st.size, rdevMajor: 0, rdevMinor: 0 }, label, LOCK_CONTENT);
    } catch (err) {
      if ((err as AccessError).code === 'EFBIG') return null;
      throw err;
    }
    const buf = Buffer.alloc(LOCK_CONTENT.max + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return n > LOCK_CONTENT.max ? null : buf.subarray(0, n).toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

/** For the refusal's message only: the holder's PID when the file says one. */
function readPid(dir: DirOps, label: string): number | null {
  try {
    const text = readText(dir, label);
    return text !== null && /^\d+\n?$/.test(text) ? parseInt(text, 10) : null;
  } catch {
    return null;
  }
}
