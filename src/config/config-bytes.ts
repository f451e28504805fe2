/**
 * Bounds-checked little-endian reads over whatever part of config space could be read. A read past
 * the end returns null instead of throwing, so decoders can report truncation as a problem.
 */
export class ConfigBytes {
  constructor(readonly bytes: Uint8Array) {}

  get length(): number {
    return this.bytes.length;
  }

  has(offset: number, width: number): boolean {
    return offset >= 0 && offset + width <= this.bytes.length;
  }

  u8(offset: number): number | null {
    return this.has(offset, 1) ? this.bytes[offset]! : null;
  }

  u16(offset: number): number | null {
    return this.has(offset, 2) ? this.bytes[offset]! | (this.bytes[offset + 1]! << 8) : null;
  }

  u32(offset: number): number | null {
    if (!this.has(offset, 4)) return null;
    const b = this.bytes;
    return (b[offset]! | (b[offset + 1]! << 8) | (b[offset + 2]! << 16) | (b[offset + 3]! << 24)) >>> 0;
  }
}

export function hexByte(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

export function hexOffset(n: number): string {
  return `0x${n.toString(16)}`;
}
