import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessError } from './access-error.js';

/** Symlink hops allowed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

type Entry = { kind: 'link'; target: string } | { kind: 'dir' } | { kind: 'other' } | { kind: 'missing' };

/**
 * A directory that stands in for `/`. Every path the agent touches goes through here, so that a mock
 * tree, a captured machine or the live system are read the same way and nothing resolves outside it.
 *
 * Resolution follows symlinks the way openat2(RESOLVE_IN_ROOT) does: an absolute link target restarts
 * at the root, and `..` at the root stays at the root. Lookups of each path prefix are cached, because a
 * scan resolves thousands of `sys/bus/pci/devices/*` links that share most of their components.
 */
export class Root {
  /** Absolute host path of the root directory, without trailing slash (`/` for the live system). */
  readonly dir: string;
  private readonly entries = new Map<string, Entry>();
  /** Canonical directories known to be reached through real directories only (see isPlainDirectory). */
  private readonly plainDirs = new Set<string>();

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
      fs.statSync(this.resolve(rel));
      return true;
    } catch {
      return false;
    }
  }

  /** Read a whole file; symlinks are resolved inside the root first. */
  readFile(rel: string): Buffer {
    const host = this.resolve(rel);
    try {
      return readNoFollow(host);
    } catch (err) {
      throw AccessError.from(err, host);
    }
  }

  /** Read a text file, or null when it does not exist. Other errors are thrown. */
  readText(rel: string): string | null {
    try {
      return this.readFile(rel).toString('utf8');
    } catch (err) {
      if (err instanceof AccessError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return null;
      throw err;
    }
  }

  /** Directory entries of `rel` (empty when it does not exist). */
  list(rel: string): string[] {
    try {
      return fs.readdirSync(this.resolve(rel));
    } catch (err) {
      const e = AccessError.from(err, this.lexical(rel));
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return [];
      throw e;
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

/** Read a host file refusing a symlink as its last component (the caller resolved links already). */
export function readNoFollow(host: string): Buffer {
  const fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
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
