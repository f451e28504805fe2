/**
 * A streaming reader of "newc" cpio archives (the only format the kernel unpacks as an initramfs:
 * init/initramfs.c do_header() accepts magic 070701 and 070702). Bytes are pushed in chunks of any size
 * (straight from a decompressor), so an image of any unpacked size is read in bounded memory: an entry's
 * data is kept only when the caller asks for it, and only up to a cap.
 *
 * The input is hostile until proven otherwise (an image on a shared box, a file given with
 * --kdump-image): every field is checked, names and counts are capped, and an error names the file and
 * the offset of the header it is about.
 */
import { ImageError } from './image-error.js';

/** What an entry is, from the S_IFMT bits of c_mode. */
export type CpioKind = 'file' | 'dir' | 'symlink' | 'other';

export interface CpioEntry {
  /** Path as stored, without a leading `./` or `/`. */
  name: string;
  kind: CpioKind;
  mode: number;
  /** c_filesize: bytes of data (a symlink's data is its target). */
  size: number;
  /** Offset of the header in the stream (see CpioReader's `label` for what stream). */
  offset: number;
}

export interface CpioLimits {
  /** Longest name (bytes, with the NUL). The kernel's own limit is PATH_MAX (init/initramfs.c do_header()). */
  maxNameBytes: number;
  /** Most entries in all archives of one stream. */
  maxEntries: number;
  /** Most bytes kept for one collected entry. */
  maxCollectBytes: number;
}

export const DEFAULT_CPIO_LIMITS: CpioLimits = { maxNameBytes: 4096, maxEntries: 2_000_000, maxCollectBytes: 64 * 1024 * 1024 };

export interface CpioHandlers {
  /**
   * Called for each entry once its header and name are read. Return true to have the entry's data
   * collected and passed to `onData` (e.g. `modules.alias`); false to skip it.
   */
  onEntry: (entry: CpioEntry) => boolean;
  /** The data of an entry `onEntry` asked for (truncated entries raise an error instead). */
  onData?: (entry: CpioEntry, data: Buffer) => void;
}

const HEADER = 110;
const S_IFMT = 0o170000;

type State = 'header' | 'name' | 'data' | 'pad' | 'stopped';

export interface CpioReaderOptions {
  /** Offset of the stream's first byte in its file (offsets in errors and entries count from here). */
  baseOffset?: number;
  /**
   * Stop after the first archive's trailer (an uncompressed archive in front of others in an image
   * file: unpack_to_rootfs() goes back to its own loop there). `push` then returns the bytes it used.
   */
  stopAtTrailer?: boolean;
  limits?: Partial<CpioLimits>;
}

/**
 * Parses one byte stream holding zero or more cpio archives, each ended by `TRAILER!!!` and possibly
 * followed by NUL padding, the way init/initramfs.c write_buffer() and do_reset() walk it.
 */
export class CpioReader {
  private readonly limits: CpioLimits;
  private state: State = 'header';
  /** Bytes of the stream consumed so far (offset of the next byte). */
  private pos = 0;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private need = HEADER;
  private entry: CpioEntry | null = null;
  private nameSize = 0;
  private dataLeft = 0;
  private collect: Buffer[] | null = null;
  private entries = 0;
  /** Archives (TRAILER!!! seen) completed so far. */
  archives = 0;

  constructor(
    /** Names the stream in errors: `FILE` or `FILE: zstd stream at offset N`. */
    private readonly label: string,
    private readonly handlers: CpioHandlers,
    options: CpioReaderOptions = {},
  ) {
    this.limits = { ...DEFAULT_CPIO_LIMITS, ...options.limits };
    this.pos = options.baseOffset ?? 0;
    this.stopAtTrailer = options.stopAtTrailer === true;
  }

  private readonly stopAtTrailer: boolean;

  /** True once the first trailer was read with `stopAtTrailer`. */
  get stopped(): boolean {
    return this.state === 'stopped';
  }

  /** Offset of the next byte the reader expects. */
  get offset(): number {
    return this.pos;
  }

  /** True between archives: the stream may end here (after a trailer, or before any header). */
  get atBoundary(): boolean {
    return this.state === 'header' && this.pendingLen === 0;
  }

  /** Feed the next bytes; returns how many were used (all of them unless the reader stopped at a trailer). */
  push(chunk: Uint8Array): number {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length > 0) {
      switch (this.state) {
        case 'stopped':
          return chunk.byteLength - buf.length;
        case 'header': {
          // NUL bytes between archives are skipped one at a time (do_reset()), but only before a header starts.
          if (this.pendingLen === 0) {
            let i = 0;
            while (i < buf.length && buf[i] === 0) i++;
            this.pos += i;
            buf = buf.subarray(i);
            if (buf.length === 0) break;
            if (this.pos % 4 !== 0) throw this.error(this.pos, 'a cpio header must start on a 4-byte boundary (broken padding)');
          }
          buf = this.gather(buf);
          if (this.pendingLen < this.need) break;
          this.header(this.take());
          break;
        }
        case 'name': {
          buf = this.gather(buf);
          if (this.pendingLen < this.need) break;
          this.name(this.take());
          break;
        }
        case 'data': {
          const n = Math.min(this.dataLeft, buf.length);
          if (this.collect) this.collect.push(Buffer.from(buf.subarray(0, n)));
          this.dataLeft -= n;
          this.pos += n;
          buf = buf.subarray(n);
          if (this.dataLeft === 0) this.endData();
          break;
        }
        case 'pad': {
          const n = Math.min(this.need, buf.length);
          this.need -= n;
          this.pos += n;
          buf = buf.subarray(n);
          if (this.need === 0) this.toHeader();
          break;
        }
      }
    }
    return chunk.byteLength;
  }

  /** The stream ended: fine between archives, an error inside one. */
  end(): void {
    if (this.state === 'pad' || this.state === 'stopped' || this.atBoundary) return;
    const what = this.state === 'header' ? 'a header' : this.state === 'name' ? `the name of the entry at ${this.entry?.offset}` : `the data of ${this.entry?.name}`;
    throw this.error(this.entry?.offset ?? this.pos, `truncated: the stream ends inside ${what}`);
  }

  /** Append bytes to the pending buffer up to `need`; returns what is left of `buf`. */
  private gather(buf: Buffer): Buffer {
    const n = Math.min(this.need - this.pendingLen, buf.length);
    this.pending.push(buf.subarray(0, n));
    this.pendingLen += n;
    return buf.subarray(n);
  }

  private take(): Buffer {
    const b = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    return b;
  }

  private header(h: Buffer): void {
    const at = this.pos;
    const magic = h.toString('latin1', 0, 6);
    if (magic !== '070701' && magic !== '070702') {
      const shown = h.subarray(0, 6).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
      throw this.error(at, `not a newc cpio header (magic "${shown}", expected 070701 or 070702)`);
    }
    // Fields after the magic: ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check.
    const field = (i: number): number => {
      const s = h.toString('latin1', 6 + i * 8, 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(s)) throw this.error(at, `header field ${i} is not 8 hex digits: "${s.replace(/[^\x20-\x7e]/g, '.')}"`);
      return parseInt(s, 16);
    };
    // Every field is checked, not only those used: a damaged header means a damaged image.
    for (let i = 0; i < 13; i++) field(i);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    if (nameSize === 0) throw this.error(at, 'name size 0 (a name has at least its NUL)');
    if (nameSize > this.limits.maxNameBytes) throw this.error(at, `name of ${nameSize} bytes is longer than ${this.limits.maxNameBytes}`);
    if (++this.entries > this.limits.maxEntries) throw this.error(at, `more than ${this.limits.maxEntries} entries`);
    const fmt = mode & S_IFMT;
    const kind: CpioKind = fmt === 0o100000 ? 'file' : fmt === 0o040000 ? 'dir' : fmt === 0o120000 ? 'symlink' : 'other';
    this.entry = { name: '', kind, mode, size, offset: at };
    this.nameSize = nameSize;
    this.pos += HEADER;
    // The name is padded so that header + name end on a 4-byte boundary (N_ALIGN in init/initramfs.c).
    this.need = align4(HEADER + nameSize) - HEADER;
    this.state = 'name';
  }

  private name(b: Buffer): void {
    const e = this.entry!;
    this.pos += b.length;
    if (b[this.nameSize - 1] !== 0) throw this.error(e.offset, 'name is not NUL-terminated');
    const raw = b.toString('utf8', 0, this.nameSize - 1);
    if (raw.includes('\0')) throw this.error(e.offset, 'name contains a NUL byte');
    if (raw === 'TRAILER!!!') {
      this.archives++;
      this.entry = null;
      // Data of the trailer (should be none) is skipped like any other.
      this.dataLeft = e.size;
      this.collect = null;
      if (e.size === 0) this.toHeader();
      else this.state = 'data';
      return;
    }
    e.name = raw.replace(/^(\.\/|\/)+/, '');
    const wanted = this.handlers.onEntry(e);
    if (wanted && e.size > this.limits.maxCollectBytes) {
      throw this.error(e.offset, `${e.name}: ${e.size} bytes, more than the ${this.limits.maxCollectBytes} this reader keeps of one file`);
    }
    this.collect = wanted ? [] : null;
    this.dataLeft = e.size;
    if (e.size === 0) this.endData();
    else this.state = 'data';
  }

  private endData(): void {
    const e = this.entry;
    if (e && this.collect && this.handlers.onData) this.handlers.onData(e, Buffer.concat(this.collect));
    this.collect = null;
    this.need = align4(this.pos) - this.pos;
    if (this.need === 0) this.toHeader();
    else this.state = 'pad';
  }

  private toHeader(): void {
    this.state = this.stopAtTrailer && this.archives > 0 ? 'stopped' : 'header';
    this.need = HEADER;
    this.entry = null;
  }

  private error(offset: number, what: string): ImageError {
    return new ImageError(`${this.label}: offset ${offset}: ${what}`);
  }
}

/** Round up to a multiple of 4 (offsets may pass 2 GiB, so no 32-bit bit operations). */
function align4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
