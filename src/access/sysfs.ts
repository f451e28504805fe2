import * as fs from 'node:fs';
import { AccessError } from './access-error.js';
import type { ConfigWidth, PciAccess, PciFunctionEntry } from './access.js';
import { Root } from './root.js';
import { canonicalBdf } from '../pci/bdf.js';

/** Where the kernel lists PCI functions, relative to the root. */
export const PCI_DEVICES_DIR = 'sys/bus/pci/devices';

/**
 * The sysfs backend: `sys/bus/pci/devices/<BDF>` links into `sys/devices/pci*`, the same layout on a
 * live machine, in a mock tree and in a captured one. Every path goes through Root, so links in a
 * hostile tree cannot lead outside it.
 */
export class SysfsAccess implements PciAccess {
  readonly name = 'sysfs';
  private dirs = new Map<string, string>();
  /** One page: every sysfs attribute and a whole config space fit, so most files take a single read(2). */
  private readonly buf = Buffer.allocUnsafe(4096);
  private problems: string[] = [];

  /**
   * Where writes that block in the kernel for a whole reset are made (`apply`: a helper process, see
   * src/apply/kernel-writer/); null: on this process's thread pool.
   */
  kernelWriter: { write(host: string, value: string): Promise<void> } | null = null;

  constructor(readonly root: Root) {}

  listFunctions(): PciFunctionEntry[] {
    this.dirs.clear();
    this.problems = [];
    const out: PciFunctionEntry[] = [];
    let listDir: string;
    let names: string[];
    try {
      listDir = this.root.canonical(PCI_DEVICES_DIR);
      names = fs.readdirSync(this.root.resolve(PCI_DEVICES_DIR));
    } catch (err) {
      // Name the listing, and where on the way to it resolution failed (a link loop at sys/bus, say).
      const at = err instanceof AccessError ? ` (at ${err.path})` : '';
      throw new AccessError(AccessError.from(err, '').code, this.root.lexical(PCI_DEVICES_DIR), `cannot list PCI functions${at}`);
    }
    for (const name of names) {
      const bdf = canonicalBdf(name);
      if (bdf === null) {
        this.problems.push(`${PCI_DEVICES_DIR}/${name}: not a PCI address (DDDD:BB:dd.f), ignored`);
        continue;
      }
      let canon: string;
      try {
        // One readlink for the listing entry, then cached lookups of the target's components: the
        // parent directories are other functions' directories, so each costs one lstat in all.
        const target = this.readLinkText(this.hostOf(`${listDir}/${name}`));
        canon = this.root.canonical(target === null ? `${listDir}/${name}` : this.root.joinLexical(listDir, target));
      } catch (err) {
        this.problems.push(`${PCI_DEVICES_DIR}/${name}: ${(err as Error).message}`);
        continue;
      }
      if (!this.root.isDirectory(canon)) {
        this.problems.push(`${PCI_DEVICES_DIR}/${name}: link does not lead to a device directory (dangling or not a directory), ignored`);
        continue;
      }
      this.dirs.set(bdf, this.hostOf(canon));
      out.push({ bdf, path: canon });
    }
    return out;
  }

  listProblems(): string[] {
    return [...this.problems];
  }

  readAttribute(bdf: string, name: string): string | null {
    const buf = this.readFileOrNull(bdf, name);
    return buf === null ? null : buf.toString('utf8');
  }

  writeAttribute(bdf: string, name: string, value: string): void {
    const host = this.attrPath(bdf, name);
    let fd: number;
    try {
      fd = fs.openSync(host, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      throw AccessError.from(err, host, `cannot open ${name} for writing`);
    }
    try {
      fs.writeSync(fd, value);
    } catch (err) {
      throw AccessError.from(err, host, `write of ${JSON.stringify(value)} refused`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * writeAttribute on libuv's thread pool, so a `reset` write that blocks in the kernel for the whole
   * reset leaves the event loop free (concurrent resets: size the pool with UV_THREADPOOL_SIZE).
   */
  async writeAttributeAsync(bdf: string, name: string, value: string): Promise<void> {
    const host = this.attrPath(bdf, name);
    if (this.kernelWriter) return this.kernelWriter.write(host, value);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(host, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      throw AccessError.from(err, host, `cannot open ${name} for writing`);
    }
    try {
      await fh.write(value);
    } catch (err) {
      throw AccessError.from(err, host, `write of ${JSON.stringify(value)} refused`);
    } finally {
      await fh.close();
    }
  }

  /**
   * The link's target as a root-relative path, resolved lexically (never followed, so never outside the
   * root): `driver`, `iommu_group`, `physfn` and `virtfnN` are read for the name they point at.
   */
  readLink(bdf: string, name: string): string | null {
    const dir = this.dirOf(bdf);
    const host = this.attrPath(bdf, name);
    // A failed readlink(2) costs Node an exception (~5 µs); an lstat that finds nothing costs none.
    // Worth it for links most functions lack (every function is asked for `physfn`).
    if (RARE_LINKS.has(name) && !mayExist(host)) return null;
    const target = this.readLinkText(host);
    return target === null ? null : this.root.joinLexical(this.relative(dir), target);
  }

  listAttributes(bdf: string): string[] {
    const dir = this.dirOf(bdf);
    try {
      return fs.readdirSync(dir);
    } catch (err) {
      throw AccessError.from(err, dir, 'cannot list function directory');
    }
  }

  readConfig(bdf: string): Uint8Array | null {
    // Config space ends at 4 KiB, so a full page is all of it: no second read(2) to find the end.
    const buf = this.readFileOrNull(bdf, 'config', CONFIG_SPACE_MAX);
    return buf === null ? null : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  readConfigAt(bdf: string, offset: number, width: ConfigWidth): number {
    checkAligned(offset, width);
    const host = this.attrPath(bdf, 'config');
    const buf = Buffer.alloc(width);
    let n: number;
    const fd = this.open(host, fs.constants.O_RDONLY);
    try {
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
    const host = this.attrPath(bdf, 'config');
    const buf = Buffer.alloc(width);
    if (width === 1) buf.writeUInt8(value & 0xff);
    else if (width === 2) buf.writeUInt16LE(value & 0xffff);
    else buf.writeUInt32LE(value >>> 0);
    const fd = this.open(host, fs.constants.O_WRONLY);
    let n: number;
    try {
      n = fs.writeSync(fd, buf, 0, width, offset);
    } catch (err) {
      throw AccessError.from(err, host, `config write at 0x${offset.toString(16)}`);
    } finally {
      fs.closeSync(fd);
    }
    if (n < width) throw new AccessError('EIO', host, `short config write at 0x${offset.toString(16)} (${n} of ${width} bytes)`);
  }

  private open(host: string, flags: number): number {
    try {
      return fs.openSync(host, flags | fs.constants.O_NOFOLLOW);
    } catch (err) {
      throw AccessError.from(err, host);
    }
  }

  /** The file's bytes (at most `limit` of them), or null when it does not exist. */
  private readFileOrNull(bdf: string, name: string, limit = Infinity): Buffer | null {
    const host = this.attrPath(bdf, name);
    let fd: number;
    try {
      fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') {
        // The attribute is itself a link: follow it, but only inside the root.
        return this.root.readFile(`${this.relative(this.dirOf(bdf))}/${name}`);
      }
      throw AccessError.from(err, host, `cannot read ${name}`);
    }
    try {
      return readAll(fd, this.buf, limit);
    } catch (err) {
      throw AccessError.from(err, host, `cannot read ${name}`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** readlink(2) without following anything; null when there is no such entry or it is not a link. */
  private readLinkText(host: string): string | null {
    try {
      return fs.readlinkSync(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return null;
      throw AccessError.from(err, host, 'cannot read link');
    }
  }

  private hostOf(canon: string): string {
    return this.root.dir === '/' ? `/${canon}` : `${this.root.dir}/${canon}`;
  }

  private attrPath(bdf: string, name: string): string {
    if (name.includes('/') || name === '..' || name === '.') throw new AccessError('EINVAL', name, 'attribute name must be a plain file name');
    return `${this.dirOf(bdf)}/${name}`;
  }

  private dirOf(bdf: string): string {
    let dir = this.dirs.get(bdf);
    if (dir) return dir;
    // Not listed yet (a caller that goes straight to one function): resolve its link now.
    const rel = `${PCI_DEVICES_DIR}/${bdf}`;
    dir = this.root.resolve(rel);
    if (!fs.existsSync(dir)) throw new AccessError('ENODEV', this.root.lexical(rel), 'no such PCI function');
    this.dirs.set(bdf, dir);
    return dir;
  }

  private relative(host: string): string {
    if (this.root.dir === '/') return host.slice(1);
    return host.slice(this.root.dir.length + 1);
  }
}

function checkAligned(offset: number, width: ConfigWidth): void {
  if (offset < 0 || offset > 0xfff || offset % width !== 0) {
    throw new AccessError('EINVAL', `offset 0x${offset.toString(16)}`, `config access of ${width} bytes must be aligned and below 0x1000`);
  }
}

/** Links that most functions do not have, probed with a non-throwing lstat before readlink. */
const RARE_LINKS = new Set(['physfn']);

/** False only when lstat finds no such entry; any other failure is left for the real read to report. */
function mayExist(host: string): boolean {
  try {
    return fs.lstatSync(host, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/** Largest PCI config space (PCIe extended config); sysfs never offers more. */
const CONFIG_SPACE_MAX = 4096;

/** Read a whole file (or its first `limit` bytes) through a reusable buffer; the result is a copy the caller owns. */
function readAll(fd: number, buf: Buffer, limit: number): Buffer {
  let n = fs.readSync(fd, buf, 0, Math.min(buf.length, limit), null);
  if (n < buf.length || n >= limit) return Buffer.from(buf.subarray(0, n));
  const chunks = [Buffer.from(buf)];
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
  return Buffer.concat(chunks);
}
