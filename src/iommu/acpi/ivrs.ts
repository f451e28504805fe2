import { ascii, hexAddress, hexOffset, u16, u32, u64, u8 } from './bytes.js';
import { parseTableHeader, type AcpiTableHeader } from './table-header.js';

/**
 * The ACPI IVRS table (AMD I/O Virtualization spec; `struct acpi_table_ivrs`, drivers/iommu/amd/init.c):
 * the AMD IOMMUs (IVHD blocks, each with the device IDs it translates) and memory definitions (IVMD).
 */
export interface IvrsTable {
  header: AcpiTableHeader | null;
  ivinfo: {
    raw: number;
    efrSupported: boolean;
    dmaRemapSupported: boolean;
    physicalAddressBits: number;
    virtualAddressBits: number;
  } | null;
  ivhds: Ivhd[];
  ivmds: Ivmd[];
  /** The IVHD type the kernel uses (get_highest_supported_ivhd_type); units are the IVHDs of this type. */
  targetIvhdType: number | null;
  others: { offset: number; type: number; length: number }[];
  /** Something was lost: a bad header or checksum, a cut table, a structure walk that had to stop. */
  damaged: boolean;
  problems: string[];
}

export interface Ivhd {
  offset: number;
  type: number;
  flags: number;
  /** The IOMMU's own PCI function (`0000:00:00.2`). */
  iommuBdf: string;
  capabilityOffset: number;
  /** `0xfeb80000` */
  registerBase: string;
  registerBaseValue: bigint;
  segment: number;
  info: number;
  attributes: number;
  efr: string | null;
  efr2: string | null;
  entries: IvhdEntry[];
  /** Device IDs (bus << 8 | devfn) this unit translates; `all` = the ALL entry was present. */
  coverage: { all: boolean; ranges: { first: number; last: number }[] };
}

export interface IvhdEntry {
  offset: number;
  type: number;
  name: string;
  devid: number;
  flags: number;
  /** ALIAS entries: the device ID requests appear under. */
  alias?: number;
  /** SPECIAL entries: IOAPIC/HPET handle and variety. */
  handle?: number;
  variety?: 'ioapic' | 'hpet' | number;
  /** ACPI HID entries. */
  hid?: string;
  uid?: string;
}

export interface Ivmd {
  offset: number;
  type: number;
  flags: number;
  devid: number;
  aux: number;
  segment: number;
  start: string;
  length: string;
}

export const IVRS_SUBTABLES_OFFSET = 48;
const IVHD_TYPES = new Set([0x10, 0x11, 0x40]);
const IVMD_TYPES = new Set([0x20, 0x21, 0x22]);

const ENTRY_NAMES: Record<number, string> = {
  0x00: 'PAD',
  0x01: 'ALL',
  0x02: 'SELECT',
  0x03: 'RANGE_START',
  0x04: 'RANGE_END',
  0x42: 'ALIAS_SELECT',
  0x43: 'ALIAS_RANGE',
  0x46: 'EXT_SELECT',
  0x47: 'EXT_RANGE',
  0x48: 'SPECIAL',
  0xf0: 'ACPI_HID',
};

/** Parse IVRS bytes; never throws. */
export function parseIvrs(bytes: Uint8Array, label = 'IVRS'): IvrsTable {
  const { header, end, damaged, problems } = parseTableHeader(bytes, 'IVRS', label);
  const table: IvrsTable = { header, ivinfo: null, ivhds: [], ivmds: [], targetIvhdType: null, others: [], damaged, problems };
  if (!header) return table;
  if (end < IVRS_SUBTABLES_OFFSET) {
    problems.push(`${label}: ${end} bytes, too short for IVinfo and the reserved field (48); no subtables`);
    table.damaged = true;
    return table;
  }
  const iv = u32(bytes, 36);
  table.ivinfo = {
    raw: iv,
    efrSupported: (iv & 1) !== 0,
    dmaRemapSupported: (iv & 2) !== 0,
    physicalAddressBits: (iv >> 8) & 0x7f,
    virtualAddressBits: (iv >> 15) & 0x7f,
  };
  let off = IVRS_SUBTABLES_OFFSET;
  while (off < end) {
    if (off + 4 > end) {
      problems.push(`${label}: ${end - off} stray byte(s) at ${hexOffset(off)}, too few for a subtable header`);
      table.damaged = true;
      break;
    }
    const type = u8(bytes, off);
    const length = u16(bytes, off + 2);
    const where = `${label} subtable 0x${type.toString(16)} at ${hexOffset(off)}`;
    if (length < 4) {
      problems.push(`${where}: length ${length} is invalid; subtable walk stopped`);
      table.damaged = true;
      break;
    }
    if (off + length > end) {
      problems.push(`${where}: length ${length} overruns the table (ends at ${hexOffset(end)}); subtable walk stopped`);
      table.damaged = true;
      break;
    }
    if (IVHD_TYPES.has(type)) {
      const ivhd = parseIvhd(bytes, off, length, where, problems);
      if (ivhd) table.ivhds.push(ivhd);
      else table.damaged = true;
    } else if (IVMD_TYPES.has(type)) {
      if (length < 32) problems.push(`${where}: IVMD length ${length} is shorter than 32; skipped`);
      else
        table.ivmds.push({
          offset: off,
          type,
          flags: u8(bytes, off + 1),
          devid: u16(bytes, off + 4),
          aux: u16(bytes, off + 6),
          segment: u16(bytes, off + 8),
          start: hexAddress(u64(bytes, off + 16)),
          length: hexAddress(u64(bytes, off + 24)),
        });
    } else {
      problems.push(`${where}: unknown subtable type (length ${length}); skipped`);
      table.others.push({ offset: off, type, length });
    }
    off += length;
  }
  table.targetIvhdType = targetType(table.ivhds);
  if (table.ivhds.length === 0) problems.push(`${label}: no IVHD (IOMMU) block in the table`);
  return table;
}

/**
 * The kernel keeps, among IVHDs describing the same IOMMU as the first one, the type of the last such
 * block (firmware lists 0x10, then 0x11/0x40 for the same unit), and then uses only IVHDs of that type.
 */
function targetType(ivhds: Ivhd[]): number | null {
  if (ivhds.length === 0) return null;
  const first = ivhds[0]!;
  let last = first.type;
  for (const h of ivhds) if (h.iommuBdf === first.iommuBdf && h.segment === first.segment) last = h.type;
  return last;
}

function parseIvhd(b: Uint8Array, off: number, length: number, where: string, problems: string[]): Ivhd | null {
  const type = u8(b, off);
  const headerSize = type === 0x10 ? 24 : 40;
  if (length < headerSize) {
    problems.push(`${where}: IVHD length ${length} is shorter than its ${headerSize}-byte header; skipped`);
    return null;
  }
  const devid = u16(b, off + 4);
  const segment = u16(b, off + 16);
  const base = u64(b, off + 8);
  const ivhd: Ivhd = {
    offset: off,
    type,
    flags: u8(b, off + 1),
    iommuBdf: devidToBdf(segment, devid),
    capabilityOffset: u16(b, off + 6),
    registerBase: hexAddress(base),
    registerBaseValue: base,
    segment,
    info: u16(b, off + 18),
    attributes: u32(b, off + 20),
    efr: headerSize === 40 ? hexAddress(u64(b, off + 24)) : null,
    efr2: headerSize === 40 ? hexAddress(u64(b, off + 32)) : null,
    entries: [],
    coverage: { all: false, ranges: [] },
  };
  if (base === 0n) problems.push(`${where}: IOMMU base address is 0`);
  const stop = off + length;
  let p = off + headerSize;
  let rangeStart: { devid: number; offset: number } | null = null;
  while (p < stop) {
    const t = u8(b, p);
    const size = entryLength(b, p, stop);
    if (size === 0) {
      problems.push(`${where}: device entry type 0x${t.toString(16)} at ${hexOffset(p)} has no known length; entry walk stopped`);
      break;
    }
    if (p + size > stop) {
      problems.push(`${where}: device entry type 0x${t.toString(16)} at ${hexOffset(p)} (length ${size}) overruns the IVHD; entry walk stopped`);
      break;
    }
    const entry: IvhdEntry = { offset: p, type: t, name: ENTRY_NAMES[t] ?? `type 0x${t.toString(16)}`, devid: u16(b, p + 1), flags: u8(b, p + 3) };
    if (t === 0x42 || t === 0x43) entry.alias = u16(b, p + 5);
    if (t === 0x48) {
      entry.handle = u8(b, p + 4);
      entry.devid = u16(b, p + 5);
      const v = u8(b, p + 7);
      entry.variety = v === 1 ? 'ioapic' : v === 2 ? 'hpet' : v;
    }
    if (t === 0xf0) {
      entry.hid = ascii(b, p + 4, 8);
      const uidLen = u8(b, p + 21);
      entry.uid = u8(b, p + 20) === 1 ? String(b[p + 22] ?? '') : ascii(b, p + 22, uidLen);
    }
    ivhd.entries.push(entry);
    switch (t) {
      case 0x01:
        ivhd.coverage.all = true;
        break;
      case 0x02:
      case 0x42:
      case 0x46:
        ivhd.coverage.ranges.push({ first: entry.devid, last: entry.devid });
        break;
      case 0x03:
      case 0x43:
      case 0x47:
        if (rangeStart) problems.push(`${where}: range start at ${hexOffset(p)} before the range at ${hexOffset(rangeStart.offset)} ended`);
        rangeStart = { devid: entry.devid, offset: p };
        break;
      case 0x04:
        if (!rangeStart) problems.push(`${where}: range end at ${hexOffset(p)} without a start; ignored`);
        else if (entry.devid < rangeStart.devid) problems.push(`${where}: range ${hexOffset(rangeStart.offset)}..${hexOffset(p)} ends before it starts; ignored`);
        else ivhd.coverage.ranges.push({ first: rangeStart.devid, last: entry.devid });
        rangeStart = null;
        break;
      default:
        if (!(t in ENTRY_NAMES) && t !== 0x00) problems.push(`${where}: unknown device entry type 0x${t.toString(16)} at ${hexOffset(p)}; skipped`);
    }
    p += size;
  }
  if (rangeStart) problems.push(`${where}: range started at ${hexOffset(rangeStart.offset)} never ends`);
  return ivhd;
}

/** `ivhd_entry_length()`: 4/8/16/32 bytes by the top two type bits below 0x80, 22 + UID length for ACPI HID. */
function entryLength(b: Uint8Array, p: number, stop: number): number {
  const t = u8(b, p);
  if (t < 0x80) return 4 << (t >> 6);
  if (t === 0xf0) return p + 21 < stop ? 22 + u8(b, p + 21) : 22;
  return 0;
}

/** `DDDD:BB:dd.f` of a segment and a 16-bit device ID. */
export function devidToBdf(segment: number, devid: number): string {
  const h = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  return `${h(segment, 4)}:${h(devid >> 8, 2)}:${h((devid >> 3) & 0x1f, 2)}.${devid & 7}`;
}
