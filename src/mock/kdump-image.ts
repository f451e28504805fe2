/**
 * Writes small initramfs images for tests and the example trees: newc cpio archives (the format
 * init/initramfs.c reads) and a byte-stable gzip wrapper (stored deflate blocks, so the committed
 * example image does not change with the zlib Node links).
 */

export interface CpioSpec {
  name: string;
  /** File data (a file when given, unless `target` or `dir`). */
  data?: string | Uint8Array;
  /** A symlink to this target. */
  target?: string;
  dir?: boolean;
  mode?: number;
}

const enc = new TextEncoder();

/** One newc archive (magic 070701) with its TRAILER!!!, entries in the order given. */
export function newcArchive(entries: CpioSpec[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array): void => {
    parts.push(b);
    size += b.byteLength;
  };
  const pad = (): void => {
    if (size % 4) push(new Uint8Array(4 - (size % 4)));
  };
  let ino = 1;
  const one = (name: string, mode: number, data: Uint8Array): void => {
    const nameBytes = enc.encode(`${name}\0`);
    const hex = (n: number): string => n.toString(16).padStart(8, '0');
    const fields = [ino++, mode, 0, 0, 1, 0, data.byteLength, 0, 0, 0, 0, nameBytes.byteLength, 0];
    push(enc.encode(`070701${fields.map(hex).join('')}`));
    push(nameBytes);
    pad();
    push(data);
    pad();
  };
  for (const e of entries) {
    if (e.dir) one(e.name, 0o040000 | (e.mode ?? 0o755), new Uint8Array(0));
    else if (e.target !== undefined) one(e.name, 0o120000 | 0o777, enc.encode(e.target));
    else one(e.name, 0o100000 | (e.mode ?? 0o644), typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array(0)));
  }
  one('TRAILER!!!', 0, new Uint8Array(0));
  return concat(parts);
}

/** Directory entries for every parent of the given paths, so the archive unpacks like a real image. */
export function withParents(entries: CpioSpec[]): CpioSpec[] {
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = e.name.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...[...dirs].sort().map((name) => ({ name, dir: true })), ...entries];
}

/** RFC 1952 gzip of `data` with stored (uncompressed) deflate blocks: the same bytes on every zlib. */
export function storedGzip(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])];
  const MAX = 65535;
  for (let i = 0; i === 0 || i < data.byteLength; i += MAX) {
    const chunk = data.subarray(i, i + MAX);
    const last = i + MAX >= data.byteLength ? 1 : 0;
    const len = chunk.byteLength;
    parts.push(Uint8Array.from([last, len & 0xff, len >> 8, ~len & 0xff, (~len >> 8) & 0xff]), chunk);
  }
  const tail = new Uint8Array(8);
  const view = new DataView(tail.buffer);
  view.setUint32(0, crc32(data), true);
  view.setUint32(4, data.byteLength >>> 0, true);
  parts.push(tail);
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

let table: Uint32Array | null = null;

function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of data) crc = table[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
