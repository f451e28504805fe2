import { O_PATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, SysError, type FsAt } from '../../native-bindings/fs-at.js';
import * as fs from 'node:fs';
import { decodeName } from './names.js';

/** Symlink hops allowed while resolving one path (Linux's MAXSYMLINKS, fs/namei.c). */
const MAX_LINK_HOPS = 40;

const { O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC } = fs.constants as typeof fs.constants & { O_CLOEXEC: number };
const CLOEXEC = O_CLOEXEC ?? 0o2000000;

export interface OpenHow {
  flags: number;
  mode?: number;
  /**
   * Refuse any symbolic link on the way (RESOLVE_NO_SYMLINKS): for paths already canonical, where a link
   * can only mean the tree changed since it was resolved. Otherwise links are followed inside the root.
   */
  noSymlinks?: boolean;
}

/**
 * Open `rel` under the directory `rootFd` the way openat2(RESOLVE_IN_ROOT) does: an absolute link restarts
 * at the root, `..` at the root stays there, magic links (/proc/self/fd/N) are refused, and the kernel
 * resolves every component at this moment, so a directory swapped for a link since the scan cannot lead
 * out (fs/namei.c: path_init() with LOOKUP_IN_ROOT, nd_jump_root()).
 *
 * On kernels without openat2 (before 5.6: ENOSYS) the same rules are applied one component at a time
 * with openat(O_PATH|O_NOFOLLOW|O_DIRECTORY) from the directory fd, each link read with readlinkat.
 */
export function openInRoot(at: FsAt, rootFd: number, rel: string, how: OpenHow): number {
  if (rel.includes('\0')) throw new SysError('EINVAL', 22, 'openat2');
  const path = rel === '' || /^\/*$/.test(rel) ? '.' : rel;
  if (!noOpenat2) {
    try {
      return at.openat2(rootFd, path, how.flags | CLOEXEC, how.mode ?? 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (how.noSymlinks ? RESOLVE_NO_SYMLINKS : 0));
    } catch (err) {
      // ENOSYS: kernel before 5.6; EPERM: a seccomp filter that does not know the call.
      if (!(err instanceof SysError) || (err.code !== 'ENOSYS' && !(err.code === 'EPERM' && !probedOpenat2))) throw err;
      noOpenat2 = true;
    } finally {
      probedOpenat2 = true;
    }
  }
  return walk(at, rootFd, path, how);
}

let noOpenat2 = false;
let probedOpenat2 = false;

/** For tests: resolve by walking even where the kernel has openat2, to check the fallback. */
export function forceWalk(on: boolean): void {
  noOpenat2 = on;
}

/** Which resolution the kernel gave us, for the report of guarantees. */
export function resolutionMode(): 'openat2' | 'openat walk' {
  return noOpenat2 ? 'openat walk' : 'openat2';
}

function walk(at: FsAt, rootFd: number, rel: string, how: OpenHow): number {
  const stack: number[] = [];
  const pending = rel.split('/').reverse();
  let hops = 0;
  const cur = (): number => stack[stack.length - 1] ?? rootFd;
  const follow = (name: string): void => {
    if (how.noSymlinks) throw new SysError('ELOOP', 40, 'openat');
    if (++hops > MAX_LINK_HOPS) throw new SysError('ELOOP', 40, 'openat');
    const target = at.readlinkat(cur(), name);
    const text = decodeName(target);
    if (text === null) throw new SysError('EILSEQ', 84, 'readlinkat');
    if (text.startsWith('/')) while (stack.length) fs.closeSync(stack.pop()!);
    const parts = text.split('/');
    // The link's text, then what was still to resolve after it.
    for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
  };
  try {
    while (pending.length > 0) {
      const part = pending.pop()!;
      if (part === '' || part === '.') {
        if (pending.length === 0) return at.openat(cur(), '.', how.flags | CLOEXEC, how.mode ?? 0);
        continue;
      }
      if (part === '..') {
        if (stack.length) fs.closeSync(stack.pop()!);
        if (pending.length === 0) return at.openat(cur(), '.', how.flags | CLOEXEC, how.mode ?? 0);
        continue;
      }
      if (pending.length === 0) {
        try {
          return at.openat(cur(), part, how.flags | O_NOFOLLOW | CLOEXEC, how.mode ?? 0);
        } catch (err) {
          // O_NOFOLLOW on a link: ELOOP (O_PATH opens the link itself, checked below).
          if (!(err instanceof SysError) || err.code !== 'ELOOP' || (how.flags & O_NOFOLLOW) !== 0) throw err;
        }
        follow(part);
        continue;
      }
      let fd: number;
      try {
        fd = at.openat(cur(), part, O_PATH | O_DIRECTORY | O_NOFOLLOW | CLOEXEC, 0);
      } catch (err) {
        if (!(err instanceof SysError) || err.code !== 'ENOTDIR' || !isLink(at, cur(), part)) throw err;
        follow(part);
        continue;
      }
      stack.push(fd);
    }
    return at.openat(cur(), '.', how.flags | CLOEXEC, how.mode ?? 0);
  } finally {
    for (const fd of stack) fs.closeSync(fd);
  }
}

function isLink(at: FsAt, dirfd: number, name: string): boolean {
  try {
    return (at.statat(dirfd, name, 0x100 /* AT_SYMLINK_NOFOLLOW */).mode & 0o170000) === 0o120000;
  } catch {
    return false;
  }
}
