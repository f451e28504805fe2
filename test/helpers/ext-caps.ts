/**
 * Extended capabilities for mock functions that the tree builder does not lay out (Resizable BAR, ATS,
 * PASID, PRI, DPC, L1SS, PTM, TPH, VC, VF Resizable BAR) and the PCI-X capability: a patchConfig that
 * appends them to the function's extended chain from 0x300 on, with their control registers programmed
 * as a driver or the firmware would have left them.
 */
export interface ExtCap {
  id: number;
  /** Bytes it takes (the next one starts after it, 8-byte aligned). */
  size: number;
  /** Fill its registers (offset of the capability given). */
  init?: (b: Uint8Array, off: number) => void;
}

export const set = (b: Uint8Array, o: number, w: number, v: number): void => {
  for (let i = 0; i < w; i++) b[o + i] = (v >>> (8 * i)) & 0xff;
};
const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

export function appendExtCaps(b: Uint8Array, caps: ExtCap[]): void {
  if (b.length < 0x1000) throw new Error('extended capabilities need 4096 bytes of config');
  let pos = 0x300;
  const placed: number[] = [];
  for (const c of caps) {
    placed.push(pos);
    pos = (pos + c.size + 7) & ~7;
  }
  // Find the end of the existing chain (or start it at 0x100).
  let last = -1;
  if (u32(b, 0x100) !== 0) {
    last = 0x100;
    for (let n = 0; n < 64; n++) {
      const next = (u32(b, last) >>> 20) & 0xffc;
      if (next < 0x100) break;
      last = next;
    }
  }
  caps.forEach((c, i) => {
    const off = placed[i]!;
    const next = placed[i + 1] ?? 0;
    set(b, off, 4, (c.id | (1 << 16) | (next << 20)) >>> 0);
    c.init?.(b, off);
  });
  if (last < 0) {
    // Nothing at 0x100: a Null capability there pointing at the first.
    set(b, 0x100, 4, (placed[0]! << 20) >>> 0);
  } else {
    const h = u32(b, last);
    set(b, last, 4, ((h & 0x000fffff) | (placed[0]! << 20)) >>> 0);
  }
}

/** Every extended state issue 12 item 3 names, programmed to non-zero values. */
export const ALL_EXT: ExtCap[] = [
  { id: 0x15, size: 0x10, init: (b, o) => set(b, o + 8, 4, (1 << 5) | 0x0800) }, // ReBAR: 1 BAR (index 0), size 8 (256 MB)
  { id: 0x0f, size: 0x08, init: (b, o) => set(b, o + 6, 2, 0x8003) }, // ATS enabled, STU 3
  { id: 0x1b, size: 0x08, init: (b, o) => set(b, o + 6, 2, 0x0003) }, // PASID enabled, execute
  { id: 0x13, size: 0x10, init: (b, o) => (set(b, o + 0x0c, 4, 0x20), set(b, o + 4, 2, 0x0001)) }, // PRI: 32 requests, enabled
  { id: 0x1e, size: 0x10, init: (b, o) => (set(b, o + 8, 4, 0x4028280f), set(b, o + 0x0c, 4, 0x28)) }, // L1SS
  { id: 0x1f, size: 0x0c, init: (b, o) => set(b, o + 8, 4, 0x0101) }, // PTM enabled, granularity 1
  { id: 0x17, size: 0x0c, init: (b, o) => set(b, o + 8, 4, 0x0101) }, // TPH requester enabled, interrupt vector mode
  { id: 0x02, size: 0x20, init: (b, o) => (set(b, o + 4, 4, 1), set(b, o + 0x0c, 2, 0x0002), set(b, o + 0x14, 4, 0x800000ff), set(b, o + 0x20, 4, 0x81000000)) }, // VC: 2 VCs
];

/** DPC lives on downstream ports. */
export const DPC: ExtCap = { id: 0x1d, size: 0x10, init: (b, o) => set(b, o + 6, 2, 0x0081) };
/** VF Resizable BAR on an SR-IOV PF. */
export const VF_REBAR: ExtCap = { id: 0x24, size: 0x10, init: (b, o) => set(b, o + 8, 4, (1 << 5) | 0x0300) };

/** Append a standard capability (PCI-X, say) at `off` to the end of the capability list. */
export function appendCap(b: Uint8Array, id: number, off: number, init?: (b: Uint8Array, off: number) => void): void {
  b[0x06] = b[0x06]! | 0x10;
  let p = b[0x34]!;
  if (p === 0) b[0x34] = off;
  else {
    for (let n = 0; n < 48 && b[p + 1]! !== 0; n++) p = b[p + 1]!;
    b[p + 1] = off;
  }
  b[off] = id;
  b[off + 1] = 0;
  init?.(b, off);
}
