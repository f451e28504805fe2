import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { O_PATH, type FsAt, type RawName } from '../../native-bindings/fs-at.js';
import { AccessError } from './access-error.js';
import type { ConfigWidth, PciAccess, PciFunctionEntry } from './access.js';
import { checkKind, CONFIG_SPACE, readCapped, SYSFS_ATTRIBUTE, type ReadKind } from './bounded-read.js';
import { decodeName, escapeName } from './names.js';
import { READ_FLAGS, Root } from './root.js';
import { checkWriteTarget } from './write-target.js';
import { canonicalBdf } from '../pci/bdf.js';

/** Where the kernel lists PCI functions, relative to the root. */
export const PCI_DEVICES_DIR = 'sys/bus/pci/devices';

const { O_RDONLY, O_WRONLY, O_DIRECTORY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;
const O_CLOEXEC = 0o2000000;
const writeAsync = promisify(fs.write);

/**
 * The sysfs backend: `sys/bus/pci/devices/<BDF>` links into `sys/devices/pci*`, the same layout on a
 * live machine, in a mock tree and in a captured one.
 *
 * Confinement at every use: a function's directory is remembered only by its canonical root-relative
 * name, and every access opens it again through the root with RESOLVE_NO_SYMLINKS, so a directory
 * replaced by a link after the scan is refused (ELOOP) instead of followed, to the outside or to another
 * function. Inside one `batch()` (the scan of one function) its files are opened relative to one
 * directory fd taken at the start of that batch; writes never use a batch's fd. Every read is
 * non-blocking, of a regular file only, and capped (src/access/bounded-read.ts).
 */
export class SysfsAccess implements PciAccess {
  readonly name = 'sysfs';
  /** bdf -> canonical root-relative directory. */
  private dirs = new Map<string, string>();
  /** One page: every sysfs attribute and a whole config space fit, so most files take a single read(2). */
  private readonly buf = Buffer.allocUnsafe(4097);
  private problems: string[] = [];

  /**
   * Where writes that block in the kernel for a whole reset are made (`apply`: a helper process, see
   * src/apply/kernel-writer/); null: on this process's thread pool.
   */
  kernelWriter: { write(target: { fd: number; path: string }, value: string): Promise<void> } | null = null;
  /** The function whose directory fd is open for the current batch, and that fd. */
  private batchBdf: string | null = null;
  private batchFd = -1;

  constructor(readonly root: Root) {}

  listFunctions(): PciFunctionEntry[] {
    this.dirs.clear();
    this.problems = [];
    const out: PciFunctionEntry[] = [];
    let listDir: string;
    let listFd: number;
    let names: string[];
    try {
      listDir = this.root.canonical(PCI_DEVICES_DIR);
      listFd = this.root.open(PCI_DEVICES_DIR, { flags: O_RDONLY | O_DIRECTORY | O_NONBLOCK });
    } catch (err) {
      // Name the listing, and where on the way to it resolution failed (a link loop at sys/bus, say).
      const at = err instanceof AccessError && err.path !== this.root.lexical(PCI_DEVICES_DIR) ? ` (at ${err.path})` : '';
      throw new AccessError(AccessError.from(err, '').code, this.root.lexical(PCI_DEVICES_DIR), `cannot list PCI functions${at}`);
    }
    try {
      let refused: string[];
      try {
        ({ names, refused } = this.root.listFd(listFd));
      } catch (err) {
        throw new AccessError(AccessError.from(err, '').code, this.root.lexical(PCI_DEVICES_DIR), 'cannot list PCI functions');
      }
      const listHost = this.root.lexical(PCI_DEVICES_DIR);
      for (const r of refused) this.problems.push(`${PCI_DEVICES_DIR}/${r}: name is not valid UTF-8, ignored`);
      for (const name of names) {
        const bdf = canonicalBdf(name);
        if (bdf === null) {
          this.problems.push(`${PCI_DEVICES_DIR}/${name}: not a PCI address (DDDD:BB:dd.f), ignored`);
          continue;
        }
        let canon: string;
        try {
          // One readlink of the listing entry (its bytes: a name that is not UTF-8 is refused, never
          // decoded into another one), then cached lookups of the target's components: the parent
          // directories are other functions' directories, so each costs one lstat in all.
          const target = this.linkTextAt(listFd, name, `${listHost}/${name}`);
          canon = this.root.canonical(target === null ? `${listDir}/${name}` : this.root.joinLexical(listDir, target));
        } catch (err) {
          this.problems.push(`${PCI_DEVICES_DIR}/${name}: ${(err as Error).message}`);
          continue;
        }
        if (!this.root.isDirectory(canon)) {
          this.problems.push(`${PCI_DEVICES_DIR}/${name}: link does not lead to a device directory (dangling or not a directory), ignored`);
          continue;
        }
        this.dirs.set(bdf, canon);
        out.push({ bdf, path: canon });
      }
    } finally {
      fs.closeSync(listFd);
    }
    return out;
  }

  listProblems(): string[] {
    return [...this.problems];
  }

  /**
   * Run `fn` with the function's directory opened once: its reads (not its writes) go relative to that
   * fd. The scan reads a dozen files per function; this saves resolving the whole path for each.
   */
  batch<T>(bdf: string, fn: () => T): T {
    if (this.batchBdf !== null) return fn();
    let fd: number;
    try {
      fd = this.openDir(bdf);
    } catch {
      // Each read then fails on its own, by name.
      return fn();
    }
    this.batchBdf = bdf;
    this.batchFd = fd;
    try {
      return fn();
    } finally {
      this.batchBdf = null;
      this.batchFd = -1;
      fs.closeSync(fd);
    }
  }

  readAttribute(bdf: string, name: string): string | null {
    const buf = this.readFileOrNull(bdf, name, SYSFS_ATTRIBUTE);
    return buf === null ? null : buf.toString('utf8');
  }

  /**
   * Open an attribute for writing, resolved now from the root with no link on the way (not even as the
   * last component), refused unless a regular file. For callers that write from elsewhere (a child
   * process given the fd); the caller closes it.
   */
  openAttributeForWrite(bdf: string, name: string): { fd: number; path: string } {
    const rel = this.attrRel(bdf, name);
    const fd = this.openFresh(rel, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
    try {
      checkWriteTarget(this.root.statFd(fd), this.hostOf(rel), { what: 'sysfs attribute', max: Infinity });
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return { fd, path: this.hostOf(rel) };
  }

  writeAttribute(bdf: string, name: string, value: string): void {
    const { fd, path } = this.openForWrite(bdf, name);
    try {
      fs.writeSync(fd, value);
    } catch (err) {
      throw AccessError.from(err, path, `write of ${JSON.stringify(value)} refused`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * writeAttribute without blocking the event loop: a `reset` write blocks in the kernel for the whole
   * reset. With a kernelWriter (apply) the write is made by the helper process, handed the attribute as an
   * O_PATH descriptor resolved now from the root with no link on the way and checked to be a regular file:
   * the helper reopens that very file (never its path), so nothing between the check and the write can
   * redirect it. Without one (tests, other callers) on libuv's thread pool.
   */
  async writeAttributeAsync(bdf: string, name: string, value: string): Promise<void> {
    if (this.kernelWriter) return this.kernelWriter.write(this.openForHelper(bdf, name), value);
    const { fd, path } = this.openForWrite(bdf, name);
    try {
      await writeAsync(fd, value);
    } catch (err) {
      throw AccessError.from(err, path, `write of ${JSON.stringify(value)} refused`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * The attribute as an O_PATH descriptor (no open(2) of the file itself: kernfs runs nothing), resolved
   * from the root now with no link on the way and checked to be a regular file. The caller owns the fd.
   */
  private openForHelper(bdf: string, name: string): { fd: number; path: string } {
    const rel = this.attrRel(bdf, name);
    const host = this.hostOf(rel);
    let fd: number;
    try {
      fd = this.openFresh(rel, O_PATH | O_NOFOLLOW);
    } catch (err) {
      const e = AccessError.from(err, this.root.lexical(rel));
      throw e.detail ? e : new AccessError(e.code, e.path, `cannot open ${name} for writing`);
    }
    try {
      checkWriteTarget(this.root.statFd(fd), host, { what: 'sysfs attribute', max: Infinity });
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return { fd, path: host };
  }

  /**
   * The link's target as a root-relative path, resolved lexically (never followed, so never outside the
   * root): `driver`, `iommu_group`, `physfn` and `virtfnN` are read for the name they point at.
   */
  readLink(bdf: string, name: string): string | null {
    const canon = this.canonOf(bdf);
    const label = this.hostOf(`${canon}/${name}`);
    const target = this.withDir(bdf, (dirFd) => {
      // A failed readlink(2) costs an exception; a stat that finds nothing costs none. Worth it for links
      // most functions lack (every function is asked for `physfn`).
      if (RARE_LINKS.has(name) && !this.mayExist(dirFd, name)) return null;
      return this.linkTextAt(dirFd, name, label);
    });
    if (target === null) return null;
    const joined = this.root.joinLexical(canon, target);
    // A driver is a directory: `driver -> driver` (a link to itself) or one into nothing is no driver.
    if (name === 'driver') this.checkDirectoryTarget(joined, label);
    return joined;
  }

  listAttributes(bdf: string): string[] {
    try {
      return this.withDir(bdf, (fd) => {
        // The batch fd may be O_PATH (no listing through it): list through a fresh O_RDONLY open.
        const own = this.openAt(fd, '.', O_RDONLY | O_DIRECTORY | O_NONBLOCK);
        try {
          return this.root.listFd(own).names;
        } finally {
          fs.closeSync(own);
        }
      });
    } catch (err) {
      throw AccessError.from(err, this.root.lexical(this.canonOf(bdf)), 'cannot list function directory');
    }
  }

  readConfig(bdf: string): Uint8Array | null {
    // Config space ends at 4 KiB, so a full page is all of it: no second read(2) to find the end.
    const buf = this.readFileOrNull(bdf, 'config', CONFIG_SPACE);
    return buf === null ? null : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  readConfigAt(bdf: string, offset: number, width: ConfigWidth): number {
    checkAligned(offset, width);
    const rel = this.attrRel(bdf, 'config');
    const host = this.hostOf(rel);
    const buf = Buffer.alloc(width);
    let n: number;
    const fd = this.openFresh(rel, READ_FLAGS | O_NOFOLLOW);
    try {
      checkKind(this.root.statFd(fd), host, CONFIG_SPACE);
      n = fs.readSync(fd, buf, 0, width, offset);
    } catch (err) {
      throw AccessError.from(err, host, `config read at 0x${offset.toString(16)}`);
    } finally {
      fs.closeSync(fd);
    }
    if (n < width) throw new AccessError('EIO', host, `short config read at 0x${offset.toString(16)} (${n} of ${width} bytes)`);
    return width === 1 ? buf.readUInt8(0) : width === 2 ? buf.readUInt16LE(0) : buf.readUInt32LE(0);
  }

  writeConfigAt(bdf: string, offset: number, width: ConfigWidth, value: number): void {
    checkAligned(offset, width);
    const rel = this.attrRel(bdf, 'config');
    const host = this.hostOf(rel);
    const buf = Buffer.alloc(width);
    if (width === 1) buf.writeUInt8(value & 0xff);
    else if (width === 2) buf.writeUInt16LE(value & 0xffff);
    else buf.writeUInt32LE(value >>> 0);
    const fd = this.openFresh(rel, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
    let n: number;
    try {
      checkWriteTarget(this.root.statFd(fd), host, CONFIG_SPACE);
      n = fs.writeSync(fd, buf, 0, width, offset);
    } catch (err) {
      throw AccessError.from(err, host, `config write at 0x${offset.toString(16)}`);
    } finally {
      fs.closeSync(fd);
    }
    if (n < width) throw new AccessError('EIO', host, `short config write at 0x${offset.toString(16)} (${n} of ${width} bytes)`);
  }

  private openForWrite(bdf: string, name: string): { fd: number; path: string } {
    try {
      return this.openAttributeForWrite(bdf, name);
    } catch (err) {
      const e = AccessError.from(err, this.root.lexical(this.attrRel(bdf, name)));
      throw e.detail ? e : new AccessError(e.code, e.path, `cannot open ${name} for writing`);
    }
  }

  /** A canonical path opened from the root now, no link anywhere on the way. */
  private openFresh(rel: string, flags: number): number {
    return this.root.open(rel, { flags, noSymlinks: true });
  }

  private openDir(bdf: string): number {
    return this.openFresh(this.canonOf(bdf), O_PATH | O_DIRECTORY);
  }

  /** `fn` with a directory fd of the function: the batch's, or one opened for this call. */
  private withDir<T>(bdf: string, fn: (dirFd: number) => T): T {
    if (this.batchBdf === bdf) return fn(this.batchFd);
    const fd = this.openDir(bdf);
    try {
      return fn(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** openat(dirFd, name) never following a link; through /proc/self/fd where koffi is missing. */
  private openAt(dirFd: number, name: string, flags: number): number {
    const at = this.root.fsAt;
    if (at) return at.openat(dirFd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0);
    return fs.openSync(`/proc/self/fd/${dirFd}/${name}`, flags | O_NOFOLLOW);
  }

  /** The file's bytes as `kind` (regular, capped), or null when it does not exist. */
  private readFileOrNull(bdf: string, name: string, kind: ReadKind): Buffer | null {
    const rel = this.attrRel(bdf, name);
    let fd: number;
    try {
      fd = this.withDir(bdf, (dirFd) => this.openAt(dirFd, name, READ_FLAGS));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP' && this.mayBeLink(bdf, name)) {
        // The attribute is itself a link: follow it, but only inside the root.
        return this.root.readFile(rel, kind);
      }
      throw AccessError.from(err, this.root.lexical(rel), `cannot read ${name}`);
    }
    const host = this.hostOf(rel);
    try {
      checkKind(this.root.statFd(fd), host, kind);
      return readCapped(fd, host, kind, this.buf);
    } catch (err) {
      throw AccessError.from(err, host, `cannot read ${name}`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Whether `name` in the function's directory is a symbolic link (ELOOP from the directory itself is not). */
  private mayBeLink(bdf: string, name: string): boolean {
    try {
      return this.withDir(bdf, (fd) => this.linkTextAt(fd, name, name) !== null);
    } catch {
      return false;
    }
  }

  /** readlinkat(2) without following anything; null when there is no such entry or it is not a link. */
  private linkTextAt(dirFd: number, name: string, label: string): string | null {
    const at = this.root.fsAt;
    let bytes: RawName;
    try {
      bytes = at ? at.readlinkat(dirFd, name) : (fs.readlinkSync(`/proc/self/fd/${dirFd}/${name}`, { encoding: 'buffer' }) as Buffer);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return null;
      throw AccessError.from(err, label, 'cannot read link');
    }
    const text = decodeName(bytes);
    if (text === null) throw new AccessError('EILSEQ', label, `link target "${escapeName(bytes)}" refused`);
    return text;
  }

  /** False only when the entry is certainly absent; any other failure is left for the real read to report. */
  private mayExist(dirFd: number, name: string): boolean {
    const at: FsAt | null = this.root.fsAt;
    if (at) return at.probe(dirFd, name, 0x100 /* AT_SYMLINK_NOFOLLOW */) !== 'ENOENT';
    try {
      return fs.lstatSync(`/proc/self/fd/${dirFd}/${name}`, { throwIfNoEntry: false }) !== undefined;
    } catch {
      return true;
    }
  }

  private checkDirectoryTarget(canonTarget: string, label: string): void {
    let ok: boolean;
    try {
      ok = this.root.isDirectory(this.root.canonical(canonTarget));
    } catch (err) {
      throw new AccessError(AccessError.from(err, label).code, label, 'link does not lead to a directory');
    }
    if (!ok) throw new AccessError('ENOTDIR', label, 'link does not lead to a directory');
  }

  /** Host path of a canonical root-relative path (no `.`/`..`: a plain join), for messages. */
  private hostOf(canon: string): string {
    return this.root.dir === '/' ? `/${canon}` : `${this.root.dir}/${canon}`;
  }

  private attrRel(bdf: string, name: string): string {
    if (name.includes('/') || name === '..' || name === '.' || name.includes('\0')) throw new AccessError('EINVAL', name, 'attribute name must be a plain file name');
    return `${this.canonOf(bdf)}/${name}`;
  }

  private canonOf(bdf: string): string {
    let dir = this.dirs.get(bdf);
    if (dir !== undefined) return dir;
    // Not listed yet (a caller that goes straight to one function): resolve its link now.
    const rel = `${PCI_DEVICES_DIR}/${bdf}`;
    let canon: string;
    try {
      canon = this.root.canonical(rel);
    } catch {
      throw new AccessError('ENODEV', this.root.lexical(rel), 'no such PCI function');
    }
    if (!this.root.isDirectory(canon) || canon === '') throw new AccessError('ENODEV', this.root.lexical(rel), 'no such PCI function');
    dir = canon;
    this.dirs.set(bdf, dir);
    return dir;
  }
}

function checkAligned(offset: number, width: ConfigWidth): void {
  if (offset < 0 || offset > 0xfff || offset % width !== 0) {
    throw new AccessError('EINVAL', `offset 0x${offset.toString(16)}`, `config access of ${width} bytes must be aligned and below 0x1000`);
  }
}

/** Links that most functions do not have, probed with a non-throwing lstat before readlink. */
const RARE_LINKS = new Set(['physfn']);

