import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';

/**
 * The `*at` system calls node:fs lacks: open, readlink, list, create, rename, link and unlink relative to
 * an open directory descriptor, and openat2(2) with RESOLVE_IN_ROOT. With them every path the agent
 * touches is resolved by the kernel, at the moment of use, inside the root (src/access/root.ts).
 *
 * koffi is loaded synchronously (createRequire; scripts/build-bundle.mjs rewrites that call for the
 * bundle) but only on first use, so commands that never open a file under a root never load it. When
 * koffi cannot load (an architecture the bundle does not ship koffi.node for), load() returns null and
 * the caller falls back to node:fs path calls, and says so.
 *
 * Descriptors returned here are plain kernel fds: node:fs readSync/writeSync/fstatSync/closeSync work on
 * them. Variadic libc functions (openat, syscall) are bound with fixed prototypes: on x86-64 and arm64
 * Linux a variadic callee reads integer and pointer arguments from the same registers.
 */

/** An errno from a call here, with its name (`ENOENT`), as node:fs reports errors. */
export class SysError extends Error {
  constructor(
    readonly code: string,
    readonly errno: number,
    readonly syscall: string,
  ) {
    // No stack: these are expected answers (ENOENT for an absent attribute), thousands per scan, and
    // capturing a stack trace is most of the cost of throwing one. Callers name the path themselves.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${syscall}: ${code}`);
    Error.stackTraceLimit = limit;
  }
}

export interface FsAt {
  /** openat2(dirfd, path, {flags, mode, resolve}); throws SysError (ENOSYS on kernels before 5.6). */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number;
  openat(dirfd: number, path: string, flags: number, mode: number): number;
  /**
   * readlinkat; the target as a RawName (never decoded here beyond plain ASCII). `path` '' reads an
   * O_PATH fd's own link.
   */
  readlinkat(dirfd: number, path: string): RawName;
  /** Every entry name of an open directory (not `.`/`..`), as RawNames, read with getdents64. */
  readdir(fd: number): RawName[];
  mkdirat(dirfd: number, path: string, mode: number): void;
  unlinkat(dirfd: number, path: string, flags: number): void;
  renameat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string): void;
  linkat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): void;
  /** statx(dirfd, path, flags): the fields the access layer decides on. */
  statat(dirfd: number, path: string, flags: number): StatAt;
  /** statx's errno name instead of a throw (a probe for an entry most functions lack): null when it exists. */
  probe(dirfd: number, path: string, flags: number): string | null;
  flock(fd: number, op: number): void;
}

/**
 * A name as the kernel gave it: a string when every byte is ASCII (then bytes and string are the same
 * thing: every sysfs name), else the raw bytes, for the caller to decode strictly or refuse
 * (src/access/names.ts). A scan reads some 20,000 names: making each a Buffer first and a string second
 * was three Buffer objects per name, most of a scan's garbage (docs/startup.md).
 */
export type RawName = string | Buffer;

/** The bytes buf[from, to) as a RawName. */
function rawName(buf: Buffer, from: number, to: number): RawName {
  for (let i = from; i < to; i++) if (buf[i]! >= 0x80) return Buffer.from(buf.subarray(from, to));
  return buf.toString('latin1', from, to);
}

export interface StatAt {
  /** S_IFMT bits and permissions. */
  mode: number;
  size: number;
  ino: bigint;
  /** Hard links to the inode: more than one on a file we write means another name, maybe outside the root, reaches it. */
  nlink: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
}

export const O_PATH = 0o10000000;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_REMOVEDIR = 0x200;
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** include/uapi/asm-generic/unistd.h and arch/x86/entry/syscalls/syscall_64.tbl (6.18). */
const SYS_OPENAT2 = 437;
const SYS_GETDENTS64: Record<string, number> = { x64: 217, arm64: 61 };
const STATX_BASIC_STATS = 0x7ff;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

let loaded: FsAt | null | undefined;
let loadError: string | null = null;

/** Why load() returned null, for the note that says confinement fell back to path calls. */
export function fsAtLoadError(): string | null {
  return loadError;
}

/** For tests and the bench: behave as if koffi were missing (true), or load normally again (false). */
export function disableFsAt(off: boolean): void {
  if (off) {
    loaded = null;
    loadError = 'disabled for a test';
  } else if (loadError === 'disabled for a test') {
    loaded = undefined;
    loadError = null;
  }
}

/** The bindings, loaded on first call; null when koffi is not available here. */
export function loadFsAt(): FsAt | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = bind();
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0] ?? 'koffi did not load';
    loaded = null;
  }
  return loaded;
}

function bind(): FsAt {
  if (process.platform !== 'linux') throw new Error(`no *at bindings on ${process.platform}`);
  type Koffi = typeof import('koffi');
  const mod = createRequire(import.meta.url)('koffi') as { default?: Koffi } & Koffi;
  const koffi = mod.default ?? mod;
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load('libc.so.6');
  } catch {
    lib = koffi.load(null as unknown as string);
  }
  const c = {
    openat: lib.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)') as (d: number, p: string, f: number, m: number) => number,
    openat2: lib.func('long syscall(long nr, int dirfd, const char *path, void *how, size_t size)') as (nr: number, d: number, p: string, how: Buffer, size: number) => number | bigint,
    getdents: lib.func('long syscall(long nr, int fd, void *buf, size_t n)') as (nr: number, fd: number, buf: Buffer, n: number) => number | bigint,
    readlinkat: lib.func('long readlinkat(int dirfd, const char *path, void *buf, size_t n)') as (d: number, p: string, b: Buffer, n: number) => number | bigint,
    mkdirat: lib.func('int mkdirat(int dirfd, const char *path, uint32_t mode)') as (d: number, p: string, m: number) => number,
    unlinkat: lib.func('int unlinkat(int dirfd, const char *path, int flags)') as (d: number, p: string, f: number) => number,
    renameat: lib.func('int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)') as (a: number, b: string, c: number, d: string) => number,
    linkat: lib.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)') as (a: number, b: string, c: number, d: string, f: number) => number,
    statx: lib.func('int statx(int dirfd, const char *path, int flags, uint32_t mask, void *buf)') as (d: number, p: string, f: number, m: number, b: Buffer) => number,
    flock: lib.func('int flock(int fd, int op)') as (fd: number, op: number) => number,
  };
  const fail = (syscall: string): never => {
    const errno = koffi.errno();
    throw new SysError(ERRNO_NAMES[errno] ?? `errno ${errno}`, errno, syscall);
  };
  const check = (r: number | bigint, syscall: string): number => {
    const n = Number(r);
    return n < 0 ? fail(syscall) : n;
  };
  // One open_how per (flags, mode, resolve): a scan uses three or four, so none is rebuilt per call.
  const hows = new Map<string, Buffer>();
  const linkBuf = Buffer.allocUnsafe(4096);
  const dentBuf = Buffer.allocUnsafe(32768);
  const statBuf = Buffer.alloc(256);
  const getdentsNr = SYS_GETDENTS64[process.arch];
  return {
    openat2(dirfd, path, flags, mode, resolve) {
      const key = `${flags} ${mode} ${resolve}`;
      let how = hows.get(key);
      if (how === undefined) {
        how = Buffer.alloc(24);
        how.writeBigUInt64LE(BigInt(flags >>> 0), 0);
        how.writeBigUInt64LE(BigInt(mode), 8);
        how.writeBigUInt64LE(BigInt(resolve), 16);
        hows.set(key, how);
      }
      return check(c.openat2(SYS_OPENAT2, dirfd, path, how, 24), 'openat2');
    },
    openat: (dirfd, path, flags, mode) => check(c.openat(dirfd, path, flags, mode), 'openat'),
    readlinkat(dirfd, path) {
      const n = check(c.readlinkat(dirfd, path, linkBuf, linkBuf.length), 'readlinkat');
      return rawName(linkBuf, 0, n);
    },
    readdir(fd) {
      if (getdentsNr === undefined) {
        // No getdents64 number for this architecture: the same listing through procfs.
        return fs.readdirSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' }) as Buffer[];
      }
      const names: RawName[] = [];
      for (;;) {
        const n = check(c.getdents(getdentsNr, fd, dentBuf, dentBuf.length), 'getdents64');
        if (n === 0) return names;
        // struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[] (NUL-terminated).
        for (let at = 0; at < n; ) {
          const reclen = dentBuf.readUInt16LE(at + 16);
          const start = at + 19;
          const end = dentBuf.indexOf(0, start);
          const stop = end < 0 || end > at + reclen ? at + reclen : end;
          const dot = dentBuf[start] === 0x2e && (stop === start + 1 || (stop === start + 2 && dentBuf[start + 1] === 0x2e));
          if (!dot) names.push(rawName(dentBuf, start, stop));
          at += reclen;
        }
      }
    },
    mkdirat: (dirfd, path, mode) => void check(c.mkdirat(dirfd, path, mode), 'mkdirat'),
    unlinkat: (dirfd, path, flags) => void check(c.unlinkat(dirfd, path, flags), 'unlinkat'),
    renameat: (a, b, d, e) => void check(c.renameat(a, b, d, e), 'renameat'),
    linkat: (a, b, d, e, f) => void check(c.linkat(a, b, d, e, f), 'linkat'),
    statat(dirfd, path, flags) {
      check(c.statx(dirfd, path, flags, STATX_BASIC_STATS, statBuf), 'statx');
      return {
        mode: statBuf.readUInt16LE(28),
        // struct statx: stx_nlink is the u32 at offset 16 (include/uapi/linux/stat.h).
        nlink: statBuf.readUInt32LE(16),
        ino: statBuf.readBigUInt64LE(32),
        size: Number(statBuf.readBigUInt64LE(40)),
        rdevMajor: statBuf.readUInt32LE(128),
        rdevMinor: statBuf.readUInt32LE(132),
        devMajor: statBuf.readUInt32LE(136),
        devMinor: statBuf.readUInt32LE(140),
      };
    },
    probe(dirfd, path, flags) {
      if (c.statx(dirfd, path, flags, 0, statBuf) === 0) return null;
      const errno = koffi.errno();
      return ERRNO_NAMES[errno] ?? `errno ${errno}`;
    },
    flock: (fd, op) => void check(c.flock(fd, op), 'flock'),
  };
}
