import * as fs from 'node:fs';
import { AT_SYMLINK_NOFOLLOW, type StatAt } from '../../native-bindings/fs-at.js';
import type { Root } from './root.js';

const { O_NOFOLLOW, O_CREAT, O_EXCL, O_WRONLY } = fs.constants;
const O_CLOEXEC = 0o2000000;

/**
 * File operations on names inside one open directory, never following a link as the name: the agent's
 * own files (report, lock) are created and replaced here, so a link planted under their names, or a
 * directory above them swapped after the run began, cannot redirect a write. With koffi, the *at calls;
 * without it, the same calls through /proc/self/fd/N/NAME (procfs jumps to the open directory itself).
 */
export class DirOps {
  constructor(
    private readonly root: Root,
    readonly fd: number,
  ) {}

  private via(name: string): string {
    if (name.includes('/') || name === '' || name === '.' || name === '..') throw new Error(`not a plain file name: ${JSON.stringify(name)}`);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /** open(2) of NAME in the directory, O_NOFOLLOW always. */
  open(name: string, flags: number, mode = 0o644): number {
    const at = this.root.fsAt;
    if (at) return at.openat(this.fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    return fs.openSync(this.via(name), flags | O_NOFOLLOW, mode);
  }

  /** A new file that did not exist (O_CREAT|O_EXCL: never an existing file, never through a link). */
  createExclusive(name: string, mode = 0o644): number {
    return this.open(name, O_WRONLY | O_CREAT | O_EXCL, mode);
  }

  rename(from: string, to: string): void {
    const at = this.root.fsAt;
    if (at) at.renameat(this.fd, from, this.fd, to);
    else fs.renameSync(this.via(from), this.via(to));
  }

  link(from: string, to: string): void {
    const at = this.root.fsAt;
    if (at) at.linkat(this.fd, from, this.fd, to, 0);
    else fs.linkSync(this.via(from), this.via(to));
  }

  unlink(name: string): void {
    const at = this.root.fsAt;
    if (at) at.unlinkat(this.fd, name, 0);
    else fs.unlinkSync(this.via(name));
  }

  /** lstat of NAME: inode and type; throws ENOENT when absent. */
  lstat(name: string): Pick<StatAt, 'mode' | 'ino' | 'size'> {
    const at = this.root.fsAt;
    if (at) return at.statat(this.fd, name, AT_SYMLINK_NOFOLLOW);
    const st = fs.lstatSync(this.via(name), { bigint: true });
    return { mode: Number(st.mode), ino: st.ino, size: Number(st.size) };
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Write all of `data` to `fd` (a regular file: no short writes but on error). */
export function writeAll(fd: number, data: Buffer, position: number | null = null): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position === null ? null : position + done);
}
