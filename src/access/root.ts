import * as fs from 'node:fs';
import * as path from 'node:path';
import { AT_EMPTY_PATH, loadFsAt, O_PATH, SysError, type FsAt, type RawName } from '../../native-bindings/fs-at.js';
import { AccessError } from './access-error.js';
import { ACPI_TABLE, checkKind, readCapped, SMALL_FILE, type FileKind, type ReadKind } from './bounded-read.js';
import { decodeName, escapeName } from './names.js';
import { openInRoot, type OpenHow } from './open-in-root.js';

const { O_RDONLY, O_NONBLOCK, O_NOCTTY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
/** Every open for reading: a FIFO or a tty in place of a file must not block the open or become our terminal. */
export const READ_FLAGS = O_RDONLY | O_NONBLOCK | O_NOCTTY;

/** Closes a Root's directory fd once the Root is garbage (tests make hundreds of roots). */
const rootFds = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed.
  }
});

/** A listing with the names that could not be used (not valid UTF-8), escaped for messages. */
export interface Listing {
  names: string[];
  refused: string[];
}

/** Symlink hops allowed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

type Entry = { kind: 'link'; target: string } | { kind: 'dir' } | { kind: 'other' } | { kind: 'missing' };

/**
 * A directory that stands in for `/`. Every path the agent touches goes through here, so that a mock
 * tree, a captured machine or the live system are read the same way and nothing resolves outside it.
 *
 * Two layers. Opening, reading, listing and creating happen on file descriptors: the root directory is
 * held open, and each path is resolved by the kernel at the moment of use with openat2(RESOLVE_IN_ROOT)
 * (or an openat walk of the same rules), so a directory swapped for a link after the scan cannot lead
 * out of the root (src/access/open-in-root.ts). Names (`canonical()`, the paths a scan reports) are
 * worked out in JavaScript with the same rules, from a cache of lstat/readlink lookups, because a scan
 * resolves thousands of `sys/bus/pci/devices/*` links that share most of their components; nothing is
 * opened through a cached name without the kernel resolving it again.
 *
 * Where koffi cannot load, the fd layer falls back to node:fs path calls on the cached names (the old
 * behaviour, links refused only as the last component); `confinement` says which one is in use.
 */
export class Root {
  /** Absolute host path of the root directory, without trailing slash (`/` for the live system). */
  readonly dir: string;
  private readonly entries = new Map<string, Entry>();
  /** Canonical directories known to be reached through real directories only (see isPlainDirectory). */
  private readonly plainDirs = new Set<string>();
  private fd: number | null = null;

  constructor(dir: string) {
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch (err) {
      throw AccessError.from(err, dir, 'root directory');
    }
    if (!fs.statSync(real).isDirectory()) {
      throw new AccessError('ENOTDIR', dir, 'root is not a directory');
    }
    this.dir = real;
  }

  /** The *at bindings, or null where koffi is not available (then path calls, see `confinement`). */
  get fsAt(): FsAt | null {
    return loadFsAt();
  }

  /** How paths are kept inside the root, for reports: the kernel at every use, or path calls. */
  get confinement(): 'kernel' | 'path' {
    return this.fsAt ? 'kernel' : 'path';
  }

  /** The root directory, held open (O_PATH) from first use; every fd-relative open starts here. */
  get rootFd(): number {
    if (this.fd === null) {
      try {
        this.fd = fs.openSync(this.dir, O_PATH | O_DIRECTORY);
      } catch (err) {
        throw AccessError.from(err, this.dir, 'root directory');
      }
      rootFds.register(this, this.fd);
    }
    return this.fd;
  }

  /**
   * Open `rel` inside the root, resolved by the kernel now. Links are followed inside the root unless
   * `how.noSymlinks` (for canonical paths, which have none). Throws AccessError naming the path.
   */
  open(rel: string, how: OpenHow): number {
    const at = this.fsAt;
    try {
      if (at) return openInRoot(at, this.rootFd, stripLeading(rel), how);
      // No koffi: the cached resolution, the last component never followed.
      return fs.openSync(this.resolve(rel), how.flags | O_NOFOLLOW, how.mode);
    } catch (err) {
      throw AccessError.from(err, this.lexical(rel));
    }
  }

  /** The type, size and device numbers of an open fd. */
  statFd(fd: number): FileKind & { ino: bigint; nlink: number } {
    const at = this.fsAt;
    if (at) return at.statat(fd, '', AT_EMPTY_PATH);
    const st = fs.fstatSync(fd, { bigint: true });
    const rdev = Number(st.rdev);
    return { mode: Number(st.mode), size: Number(st.size), ino: st.ino, nlink: Number(st.nlink), rdevMajor: ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff), rdevMinor: (rdev & 0xff) | ((rdev >> 12) & ~0xff) };
  }

  /**
   * Open `rel` for reading as `kind`: non-blocking, checked to be a regular file (or the kind's character
   * device) and not over the kind's cap. The caller closes the fd.
   */
  openForRead(rel: string, kind: ReadKind, how: Partial<OpenHow> = {}): number {
    const fd = this.open(rel, { flags: READ_FLAGS, ...how });
    try {
      checkKind(this.statFd(fd), this.lexical(rel), kind);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return fd;
  }

  /**
   * Open, with `flags`, the very file an O_PATH descriptor `pathFd` (from open()) refers to: through
   * `/proc/self/fd/N`, which names the open file itself, not a path to resolve again (proc_fd_link(),
   * fs/proc/fd.c). So what was checked on `pathFd` (type, device numbers) is what gets opened, whatever has
   * been swapped in the tree since. Without procfs, the host path `label` is opened without following a
   * last link and refused (ESTALE) unless it is the same file (st_dev, st_ino) as `pathFd`. The caller
   * closes both fds.
   */
  reopen(pathFd: number, flags: number, label: string): number {
    let fd: number;
    try {
      fd = fs.openSync(`/proc/self/fd/${pathFd}`, flags);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || fs.existsSync('/proc/self/fd')) throw AccessError.from(err, label);
      try {
        fd = fs.openSync(label, flags | O_NOFOLLOW);
      } catch (err2) {
        throw AccessError.from(err2, label);
      }
    }
    const want = fs.fstatSync(pathFd, { bigint: true });
    const got = fs.fstatSync(fd, { bigint: true });
    if (want.dev !== got.dev || want.ino !== got.ino) {
      fs.closeSync(fd);
      throw new AccessError('ESTALE', label, 'not the file checked (replaced since): refused');
    }
    return fd;
  }

  /** True when the root is the host's own `/`: the agent is looking at a real machine. */
  get isHostRoot(): boolean {
    return this.dir === '/';
  }

  /** Host path of a root-relative path, without following any symlink in it. */
  lexical(rel: string): string {
    const parts = splitPath(rel);
    return this.host(normalise([], parts));
  }

  /**
   * Root-relative canonical path (no leading slash) of `rel`, every symlink followed inside the root.
   * With `followLast` false the final component is kept as it is (lstat semantics).
   */
  canonical(rel: string, followLast = true): string {
    // Most paths a scan asks for are already canonical and sit in a directory resolved before (the
    // listing's targets nest inside each other): one cached lookup of the last component settles them.
    if (followLast && isPlainPath(rel) && this.isPlainDirectory(parentOf(rel))) {
      const entry = this.lookup(rel);
      if (entry.kind !== 'link') return rel;
    }
    return this.resolveSlowly(rel, followLast);
  }

  /**
   * Whether the plain path `canon` (no `.`, `..` or empty components) is a directory reached without
   * following any link: every prefix is a real directory. Remembered, so each directory costs one lstat.
   */
  private isPlainDirectory(canon: string): boolean {
    // Up to the nearest directory already known (a loop, not recursion: the path may be very deep),
    // then down again checking each one.
    const unchecked: string[] = [];
    let dir = canon;
    while (dir !== '' && !this.plainDirs.has(dir)) {
      unchecked.push(dir);
      dir = parentOf(dir);
    }
    for (let i = unchecked.length - 1; i >= 0; i--) {
      if (this.lookup(unchecked[i]!).kind !== 'dir') return false;
      this.plainDirs.add(unchecked[i]!);
    }
    return true;
  }

  /** Component by component, following links inside the root. */
  private resolveSlowly(rel: string, followLast: boolean): string {
    const resolved: string[] = [];
    // `key` is resolved.join('/') kept up to date, so a deep path costs no repeated joins.
    let key = '';
    const pending = splitPath(rel).reverse();
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.pop()!;
      if (part === '.' || part === '') continue;
      if (part === '..') {
        resolved.pop();
        key = resolved.join('/');
        continue;
      }
      const isLast = pending.length === 0;
      resolved.push(part);
      const parentKey = key;
      key = key === '' ? part : `${key}/${part}`;
      if (isLast && !followLast) break;
      const entry = this.lookup(key);
      if (entry.kind !== 'link') continue;
      if (++hops > MAX_LINK_HOPS) throw new AccessError('ELOOP', this.hostOf(key), 'too many levels of symbolic links');
      resolved.pop();
      key = parentKey;
      if (entry.target.startsWith('/')) {
        resolved.length = 0;
        key = '';
      }
      const targetParts = splitPath(entry.target);
      for (let i = targetParts.length - 1; i >= 0; i--) pending.push(targetParts[i]!);
    }
    return key;
  }

  /** Host path of `rel` with every symlink resolved inside the root. */
  resolve(rel: string, followLast = true): string {
    const canon = this.canonical(rel, followLast);
    return canon === '' ? this.dir : this.hostOf(canon);
  }

  /** The root-relative target of the symlink at `rel`, resolved inside the root; null when `rel` is not a link. */
  readLink(rel: string): string | null {
    const canonParent = this.canonical(path.posix.dirname(stripLeading(rel)));
    const name = path.posix.basename(rel);
    const own = canonParent === '' ? name : `${canonParent}/${name}`;
    const entry = this.lookup(own);
    if (entry.kind === 'missing') return null;
    if (entry.kind !== 'link') return null;
    return this.canonical(own);
  }

  /** Whether the canonical path `canon` (as returned by canonical()) is a directory; uses the lookup cache. */
  isDirectory(canon: string): boolean {
    return canon === '' || this.lookup(canon).kind === 'dir';
  }

  /**
   * Root-relative path that `target` (a link's text, found in directory `dirCanon`) names, resolved
   * lexically: `..` clamps at the root and an absolute target restarts there. Nothing is followed, so
   * this never leaves the root; use canonical() on the result where intermediate links matter.
   */
  joinLexical(dirCanon: string, target: string): string {
    // The shape every sysfs link has (`../../../devices/pci0000:00/...`, `../../../bus/pci/drivers/x`):
    // leading `../` then plain names. Done on the string, as a scan joins three links per function.
    let up = 0;
    while (target.startsWith('../', up * 3)) up++;
    const rest = target.slice(up * 3);
    if (!target.startsWith('/') && isPlainPath(rest) && isPlainPath(dirCanon)) {
      let base = dirCanon;
      for (let i = 0; i < up && base !== ''; i++) base = parentOf(base);
      return base === '' ? rest : rest === '' ? base : `${base}/${rest}`;
    }
    const base = target.startsWith('/') ? [] : splitPath(dirCanon);
    return normalise(base, splitPath(target)).join('/');
  }

  /** Whether `rel` exists (following links inside the root). */
  exists(rel: string): boolean {
    try {
      fs.closeSync(this.open(rel, { flags: O_PATH }));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Read a whole file of `kind` (default SMALL_FILE: 8 MiB at most): resolved inside the root now,
   * opened non-blocking, refused unless regular (EFTYPE) or when over the kind's cap (EFBIG).
   */
  readFile(rel: string, kind: ReadKind = SMALL_FILE): Buffer {
    const fd = this.openForRead(rel, kind);
    try {
      return readCapped(fd, this.lexical(rel), kind);
    } catch (err) {
      throw AccessError.from(err, this.lexical(rel));
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * An ACPI table (`sys/firmware/acpi/tables/DMAR`): its header, then as many bytes as its own Length
   * field says, refused when that is over ACPI_TABLE's cap or the file is shorter (the parser then names
   * a short table). Bytes past the Length are not read.
   */
  readAcpiTable(rel: string): Buffer {
    const label = this.lexical(rel);
    const fd = this.openForRead(rel, { ...ACPI_TABLE, max: Number.MAX_SAFE_INTEGER });
    try {
      const header = Buffer.alloc(36);
      const n = fs.readSync(fd, header, 0, 36, 0);
      if (n < 8) return header.subarray(0, n);
      const length = header.readUInt32LE(4);
      if (length > ACPI_TABLE.max) throw new AccessError('EFBIG', label, `header Length ${length} is more than an ACPI table can hold here (${ACPI_TABLE.max}): refused`);
      const want = Math.max(length, n);
      const buf = Buffer.alloc(want);
      header.copy(buf, 0, 0, n);
      let got = n;
      while (got < want) {
        const r = fs.readSync(fd, buf, got, want - got, got);
        if (r === 0) break;
        got += r;
      }
      return buf.subarray(0, got);
    } catch (err) {
      throw AccessError.from(err, label);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Read a text file, or null when it does not exist. Other errors are thrown. */
  readText(rel: string, kind: ReadKind = SMALL_FILE): string | null {
    try {
      return this.readFile(rel, kind).toString('utf8');
    } catch (err) {
      if (err instanceof AccessError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return null;
      throw err;
    }
  }

  /** Directory entries of `rel` (empty when it does not exist); names that are not UTF-8 are left out (see listing()). */
  list(rel: string): string[] {
    return this.listing(rel).names;
  }

  /** Directory entries of `rel`, and the names refused because they are not valid UTF-8. Empty when it does not exist. */
  listing(rel: string): Listing {
    let fd: number;
    try {
      fd = this.open(rel, { flags: O_RDONLY | O_DIRECTORY | O_NONBLOCK });
    } catch (err) {
      const e = AccessError.from(err, this.lexical(rel));
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { names: [], refused: [] };
      throw e;
    }
    try {
      return this.listFd(fd);
    } catch (err) {
      throw AccessError.from(err, this.lexical(rel));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The entries of an open directory, names decoded strictly. */
  listFd(fd: number): Listing {
    const at = this.fsAt;
    const raw: RawName[] = at ? at.readdir(fd) : (fs.readdirSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' }) as Buffer[]);
    const names: string[] = [];
    const refused: string[] = [];
    for (const b of raw) {
      const name = decodeName(b);
      if (name === null) refused.push(escapeName(b));
      else names.push(name);
    }
    return { names, refused };
  }

  /**
   * Open (creating what is missing, mode 0755) the directory `rel`, following links inside the root, for
   * files created relative to it (report, lock). The name is resolved first (links inside the root), then
   * each component is created and opened by fd with no link followed, so a swap in between fails (ELOOP,
   * ENOTDIR) instead of leading anywhere. The caller closes the fd.
   */
  openDirCreating(rel: string): number {
    // Names cached by an earlier use may be stale (a directory since replaced by a link): look again.
    this.forget();
    const canon = this.canonical(rel);
    const at = this.fsAt;
    let parent = this.open('', { flags: O_PATH | O_DIRECTORY });
    let done = '';
    try {
      for (const part of splitPath(canon)) {
        done = done === '' ? part : `${done}/${part}`;
        try {
          if (at) at.mkdirat(parent, part, 0o755);
          else fs.mkdirSync(`/proc/self/fd/${parent}/${part}`, { mode: 0o755 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw AccessError.from(err, this.hostOf(done), 'cannot create directory');
        }
        let next: number;
        try {
          next = at ? at.openat(parent, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | 0o2000000, 0) : fs.openSync(`/proc/self/fd/${parent}/${part}`, O_PATH | O_DIRECTORY | O_NOFOLLOW);
        } catch (err) {
          throw AccessError.from(err, this.hostOf(done), 'cannot open directory');
        }
        fs.closeSync(parent);
        parent = next;
      }
      return at ? at.openat(parent, '.', O_RDONLY | O_DIRECTORY | 0o2000000, 0) : fs.openSync(`/proc/self/fd/${parent}`, O_RDONLY | O_DIRECTORY);
    } finally {
      fs.closeSync(parent);
    }
  }

  /** Forget cached lookups (after the tree changed underneath, e.g. a function vanished). */
  forget(): void {
    this.entries.clear();
    this.plainDirs.clear();
  }

  private host(parts: string[]): string {
    return parts.length === 0 ? this.dir : this.hostOf(parts.join('/'));
  }

  private hostOf(canon: string): string {
    return this.dir === '/' ? `/${canon}` : `${this.dir}/${canon}`;
  }

  private lookup(canon: string): Entry {
    let entry = this.entries.get(canon);
    if (entry) return entry;
    const host = this.hostOf(canon);
    try {
      const st = fs.lstatSync(host);
      entry = st.isSymbolicLink() ? { kind: 'link', target: fs.readlinkSync(host) } : st.isDirectory() ? { kind: 'dir' } : { kind: 'other' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw AccessError.from(err, host);
      entry = { kind: 'missing' };
    }
    this.entries.set(canon, entry);
    return entry;
  }
}

/** A relative path of plain names: no leading, trailing or doubled `/`, no `.` or `..` component. */
function isPlainPath(p: string): boolean {
  if (p === '') return true;
  if (p.charCodeAt(0) === 0x2f || p.charCodeAt(p.length - 1) === 0x2f || p.includes('//')) return false;
  if (!p.includes('.')) return true;
  return !(p === '.' || p === '..' || p.startsWith('./') || p.startsWith('../') || p.endsWith('/.') || p.endsWith('/..') || p.includes('/./') || p.includes('/../'));
}

/** The directory part of a plain path (`a/b/c` -> `a/b`, `a` -> ``). */
function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '');
}

function stripLeading(p: string): string {
  return p.replace(/^\/+/, '');
}

function normalise(base: string[], parts: string[]): string[] {
  const out = [...base];
  for (const part of parts) {
    if (part === '.' || part === '') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}
