/**
 * The compressions an initramfs may use, recognised by their magic bytes the way the kernel does
 * (lib/decompress.c compressed_formats[]), and streaming decompressors for the three kdump images use in
 * practice: gzip (node:zlib), xz (xz-decompress: xz-embedded compiled to WebAssembly) and zstd (fzstd,
 * pure JavaScript). Node 20's zlib has neither xz nor zstd; docs/audit.md says why these two libraries.
 *
 * Output goes to a sink chunk by chunk, so an image is never held unpacked; `maxOutputBytes` bounds the
 * work a hostile image (a decompression bomb) can cause.
 */
import * as zlib from 'node:zlib';
import { ImageError } from './image-error.js';

export type Compression = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'lzma' | 'lzo' | 'lz4';

/** lib/decompress.c compressed_formats[]: magic bytes → method. */
const MAGIC: { bytes: number[]; kind: Compression }[] = [
  { bytes: [0x1f, 0x8b], kind: 'gzip' },
  { bytes: [0x1f, 0x9e], kind: 'gzip' },
  { bytes: [0x42, 0x5a, 0x68], kind: 'bzip2' },
  { bytes: [0x5d, 0x00, 0x00], kind: 'lzma' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], kind: 'xz' },
  { bytes: [0x89, 0x4c, 0x5a], kind: 'lzo' },
  { bytes: [0x02, 0x21, 0x4c, 0x18], kind: 'lz4' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], kind: 'zstd' },
];

export const SUPPORTED: readonly Compression[] = ['gzip', 'xz', 'zstd'];

export function detectCompression(b: Uint8Array): Compression | null {
  for (const m of MAGIC) if (m.bytes.every((v, i) => b[i] === v)) return m.kind;
  return null;
}

export interface DecompressOptions {
  /** Names the stream in errors, e.g. `var/lib/kdump/initrd.img-6.12.0: zstd stream at offset 8192`. */
  label: string;
  /** Stop with an error past this many output bytes. */
  maxOutputBytes: number;
}

/** Input is fed in slices of this size so that no decompressor sees one huge buffer at once. */
const SLICE = 1024 * 1024;

/**
 * Decompress `input` (one compressed stream; for gzip and zstd, concatenated members/frames too) into
 * `sink`. Resolves with the number of bytes produced; rejects with an ImageError naming the stream.
 */
export async function decompress(kind: Compression, input: Uint8Array, sink: (chunk: Uint8Array) => void, options: DecompressOptions): Promise<number> {
  let total = 0;
  const emit = (chunk: Uint8Array): void => {
    total += chunk.byteLength;
    if (total > options.maxOutputBytes) throw new ImageError(`${options.label}: unpacks to more than ${options.maxOutputBytes} bytes (the limit)`);
    if (chunk.byteLength > 0) sink(chunk);
  };
  try {
    switch (kind) {
      case 'gzip':
        await gunzip(input, emit);
        break;
      case 'zstd':
        await unzstd(input, emit);
        break;
      case 'xz':
        await unxz(input, emit);
        break;
      default:
        throw new ImageError(`${options.label}: ${kind} compression is not supported (only ${SUPPORTED.join(', ')}); unpack the image and pass the cpio with --kdump-image`);
    }
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`${options.label}: ${kind} data is damaged: ${(err as Error)?.message ?? String(err)}`);
  }
  return total;
}

async function gunzip(input: Uint8Array, emit: (c: Uint8Array) => void): Promise<void> {
  const g = zlib.createGunzip({ chunkSize: 256 * 1024 });
  const feed = async (): Promise<void> => {
    for (let i = 0; i < input.byteLength; i += SLICE) {
      if (!g.write(input.subarray(i, i + SLICE))) await new Promise<void>((r) => g.once('drain', r));
      if (g.destroyed) return;
    }
    g.end();
  };
  const fed = feed();
  try {
    for await (const chunk of g) emit(chunk as Buffer);
  } catch (err) {
    g.destroy();
    throw err;
  }
  await fed;
}

async function unzstd(input: Uint8Array, emit: (c: Uint8Array) => void): Promise<void> {
  const { Decompress } = await import('fzstd');
  const d = new Decompress((chunk) => emit(chunk));
  for (let i = 0; i < input.byteLength; i += SLICE) {
    const end = Math.min(i + SLICE, input.byteLength);
    d.push(input.subarray(i, end), end === input.byteLength);
  }
  if (input.byteLength === 0) d.push(new Uint8Array(0), true);
}

async function unxz(input: Uint8Array, emit: (c: Uint8Array) => void): Promise<void> {
  // A webpack UMD module: Node's ESM loader sees only `default`; bundlers and vitest give the named export.
  const mod = (await import('xz-decompress')) as typeof import('xz-decompress') & { default?: typeof import('xz-decompress') };
  const XzReadableStream = mod.XzReadableStream ?? mod.default!.XzReadableStream;
  let i = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i >= input.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(input.slice(i, i + SLICE));
      i += SLICE;
    },
  });
  const reader = new XzReadableStream(source).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      emit(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
}
