/**
 * Little-endian reads over a table that may be shorter than it claims: every read is bounds-checked by
 * the caller against `end`, so these helpers only decode. 64-bit values stay bigint: register bases and
 * RMRR ranges use all 64 bits.
 */
export function u8(b: Uint8Array, off: number): number {
  return b[off]!;
}

export function u16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

export function u32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function u64(b: Uint8Array, off: number): bigint {
  return (BigInt(u32(b, off + 4)) << 32n) | BigInt(u32(b, off));
}

/** Printable ASCII of a fixed-width field, NULs and padding kept out. */
export function ascii(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < off + len && i < b.length; i++) {
    const c = b[i]!;
    if (c === 0) break;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

/** `0x` + lowercase hex of an address, the encoding of the JSON contract (`"0xfed90000"`). */
export function hexAddress(n: bigint | number): string {
  return `0x${n.toString(16)}`;
}

/** Hex offset for problem texts (`0x30`). */
export function hexOffset(n: number): string {
  return `0x${n.toString(16)}`;
}
