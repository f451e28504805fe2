/**
 * Read an initramfs image the way the kernel unpacks it (init/initramfs.c unpack_to_rootfs()): a run of
 * pieces, each either an uncompressed cpio archive (an early microcode archive sits in front of most
 * images), NUL padding, or a compressed stream holding further archives. Entries are reported as they
 * are met; only the files the caller wants are kept.
 */
import * as fs from 'node:fs';
import { CpioReader, type CpioEntry, type CpioLimits } from './cpio.js';
import { decompress, detectCompression, type Compression } from './decompress.js';
import { ImageError } from './image-error.js';

export interface ImageSegment {
  /** Offset of the piece in the image file. */
  offset: number;
  compression: Compression | 'none';
  /** Bytes of the file the piece takes (for a compressed piece: to the end of the file). */
  storedBytes: number;
  /** Bytes of cpio data it holds. */
  unpackedBytes: number;
  /** cpio archives (trailers) in it. */
  archives: number;
  entries: number;
}

export interface ImageEntry extends CpioEntry {
  /** Index into `segments`. */
  segment: number;
}

export interface ImageContents {
  segments: ImageSegment[];
  /** Every entry, in order (later entries of the same name overwrite earlier ones when unpacked). */
  entries: ImageEntry[];
  /** Data of the entries `want` selected, by name (the last one of a name wins, as in the unpacked tree). */
  files: Map<string, Buffer>;
}

export interface ReadImageOptions {
  /** Names the image in errors (a root-relative path or the --kdump-image argument). */
  label: string;
  /** Which entries' data to keep. */
  want?: (entry: CpioEntry) => boolean;
  limits?: Partial<CpioLimits>;
  /** Most cpio bytes unpacked from all compressed pieces together (decompression-bomb bound). */
  maxUnpackedBytes?: number;
}

export const DEFAULT_MAX_UNPACKED = 4 * 1024 * 1024 * 1024;
/** Largest image file read (distribution kdump images are 20–200 MB). */
export const MAX_IMAGE_BYTES = 1024 * 1024 * 1024;

export async function readImage(bytes: Uint8Array, options: ReadImageOptions): Promise<ImageContents> {
  const out: ImageContents = { segments: [], entries: [], files: new Map() };
  const want = options.want ?? (() => false);
  let budget = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED;
  const handlersFor = (segment: number) => ({
    onEntry: (e: CpioEntry): boolean => {
      out.entries.push({ ...e, segment });
      out.segments[segment]!.entries++;
      return e.kind === 'file' && want(e);
    },
    onData: (e: CpioEntry, data: Buffer): void => {
      out.files.set(e.name, data);
    },
  });
  let pos = 0;
  while (pos < bytes.byteLength) {
    // NUL bytes between pieces are skipped (unpack_to_rootfs(): `if (!*buf) { buf++; ... continue; }`).
    if (bytes[pos] === 0) {
      pos++;
      continue;
    }
    const segment = out.segments.length;
    if (bytes[pos] === 0x30 && pos % 4 === 0) {
      // An uncompressed archive: read to its trailer, then back to the loop.
      out.segments.push({ offset: pos, compression: 'none', storedBytes: 0, unpackedBytes: 0, archives: 0, entries: 0 });
      const reader = new CpioReader(options.label, handlersFor(segment), { baseOffset: pos, stopAtTrailer: true, limits: options.limits });
      const used = reader.push(bytes.subarray(pos));
      if (!reader.stopped) reader.end();
      if (!reader.stopped) throw new ImageError(`${options.label}: offset ${pos}: the cpio archive has no TRAILER!!! entry`);
      const seg = out.segments[segment]!;
      seg.storedBytes = used;
      seg.unpackedBytes = used;
      seg.archives = reader.archives;
      pos += used;
      continue;
    }
    const kind = detectCompression(bytes.subarray(pos, pos + 8));
    if (!kind) {
      const hex = Buffer.from(bytes.subarray(pos, pos + 8)).toString('hex');
      throw new ImageError(`${options.label}: offset ${pos}: neither a cpio archive nor a known compression (bytes ${hex})`);
    }
    const label = `${options.label}: ${kind} stream at offset ${pos}`;
    out.segments.push({ offset: pos, compression: kind, storedBytes: bytes.byteLength - pos, unpackedBytes: 0, archives: 0, entries: 0 });
    const reader = new CpioReader(label, handlersFor(segment), { limits: options.limits });
    const unpacked = await decompress(kind, bytes.subarray(pos), (chunk) => reader.push(chunk), { label, maxOutputBytes: budget });
    reader.end();
    const seg = out.segments[segment]!;
    seg.unpackedBytes = unpacked;
    seg.archives = reader.archives;
    budget -= unpacked;
    // The decompressors read to the end of their stream; where it ended in the file is not reported by
    // all three, so a second compressed piece after the first would be missed. No distribution builds one.
    break;
  }
  if (out.segments.length === 0) throw new ImageError(`${options.label}: empty (no cpio archive)`);
  return out;
}

/** Read an image file from the host path, refusing anything but a regular file of sane size. */
export async function readImageFile(hostPath: string, options: ReadImageOptions): Promise<ImageContents> {
  let fd: number;
  try {
    fd = fs.openSync(hostPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new ImageError(`${options.label}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message}`);
  }
  let bytes: Buffer;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new ImageError(`${options.label}: not a regular file`);
    if (st.size > MAX_IMAGE_BYTES) throw new ImageError(`${options.label}: ${st.size} bytes, larger than the ${MAX_IMAGE_BYTES} this reader accepts`);
    bytes = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = fs.readSync(fd, bytes, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    bytes = bytes.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
  return readImage(bytes, options);
}
