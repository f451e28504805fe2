import { hexAddress, hexOffset, ascii, u16, u32, u64, u8 } from './bytes.js';
import { parseDeviceScopes, type DeviceScope } from './device-scope.js';
import { parseTableHeader, type AcpiTableHeader } from './table-header.js';

/**
 * The ACPI DMAR table (Intel VT-d spec ch. 8; `struct acpi_table_dmar`, include/acpi/actbl1.h): which
 * remapping units exist, where their registers are, which devices each covers.
 */
export interface DmarTable {
  header: AcpiTableHeader | null;
  /** DMA physical address width in bits (the byte holds width − 1). */
  hostAddressWidth: number | null;
  flags: { raw: number; intrRemap: boolean; x2apicOptOut: boolean; dmaCtrlPlatformOptIn: boolean } | null;
  drhds: Drhd[];
  rmrrs: Rmrr[];
  atsrs: Atsr[];
  rhsas: { offset: number; base: string; proximity: number }[];
  andds: { offset: number; deviceNumber: number; name: string }[];
  satcs: Satc[];
  /** Structures of types the parser knows by name only (SIDP) or not at all: kept so nothing is silently lost. */
  others: { offset: number; type: number; length: number }[];
  /** Something was lost: a bad header or checksum, a cut table, a structure walk that had to stop. */
  damaged: boolean;
  problems: string[];
}

/** DMA Remapping Hardware Unit Definition: one remapping unit. */
export interface Drhd {
  /** Byte offset in the table, to name the entry in reports. */
  offset: number;
  /** Order among DRHDs; the kernel numbers units dmarN in this order when all initialise. */
  index: number;
  flags: number;
  /** Bit 0: covers every device of the segment not claimed by another DRHD's scopes. */
  includePciAll: boolean;
  /** Register set size in bytes: 2^size × 4 KiB. */
  registerSize: number;
  segment: number;
  /** `0xfed90000` */
  registerBase: string;
  registerBaseValue: bigint;
  scopes: DeviceScope[];
}

/** Reserved Memory Region: a BIOS-owned DMA range (USB legacy, GPU stolen memory) the OS must keep mapped. */
export interface Rmrr {
  offset: number;
  segment: number;
  base: string;
  limit: string;
  scopes: DeviceScope[];
}

export interface Atsr {
  offset: number;
  allPorts: boolean;
  segment: number;
  scopes: DeviceScope[];
}

export interface Satc {
  offset: number;
  atcRequired: boolean;
  segment: number;
  scopes: DeviceScope[];
}

/** Remapping structures start after the 36-byte header, width, flags and 10 reserved bytes. */
export const DMAR_STRUCTURES_OFFSET = 48;

const TYPE_NAMES = ['DRHD', 'RMRR', 'ATSR', 'RHSA', 'ANDD', 'SATC', 'SIDP'];

/** Parse DMAR bytes; never throws. Problems name the offset and what is wrong. */
export function parseDmar(bytes: Uint8Array, label = 'DMAR'): DmarTable {
  const { header, end, damaged, problems } = parseTableHeader(bytes, 'DMAR', label);
  const table: DmarTable = {
    header,
    hostAddressWidth: null,
    flags: null,
    drhds: [],
    rmrrs: [],
    atsrs: [],
    rhsas: [],
    andds: [],
    satcs: [],
    others: [],
    damaged,
    problems,
  };
  if (!header) return table;
  if (end < DMAR_STRUCTURES_OFFSET) {
    problems.push(`${label}: ${end} bytes, too short for the DMAR fields (48); no remapping structures`);
    table.damaged = true;
    if (end >= 38) {
      table.hostAddressWidth = u8(bytes, 36) + 1;
      table.flags = decodeFlags(u8(bytes, 37));
    }
    return table;
  }
  table.hostAddressWidth = u8(bytes, 36) + 1;
  table.flags = decodeFlags(u8(bytes, 37));

  let off = DMAR_STRUCTURES_OFFSET;
  while (off < end) {
    if (off + 4 > end) {
      problems.push(`${label}: ${end - off} stray byte(s) at ${hexOffset(off)}, too few for a structure header`);
      table.damaged = true;
      break;
    }
    const type = u16(bytes, off);
    const length = u16(bytes, off + 2);
    const name = TYPE_NAMES[type] ?? `type ${type}`;
    const where = `${label} ${name} at ${hexOffset(off)}`;
    if (length < 4) {
      // A zero length would walk in place forever; the kernel (dmar_walk_remapping_entries) stops too.
      problems.push(`${where}: length ${length} is invalid; structure walk stopped`);
      table.damaged = true;
      break;
    }
    if (off + length > end) {
      problems.push(`${where}: length ${length} overruns the table (ends at ${hexOffset(end)}); structure walk stopped`);
      table.damaged = true;
      break;
    }
    const stop = off + length;
    switch (type) {
      case 0:
        if (!needs(where, length, 16, problems)) {
          // A unit was lost: the unit list is no longer complete.
          table.damaged = true;
          break;
        }
        {
          const flags = u8(bytes, off + 4);
          const base = u64(bytes, off + 8);
          table.drhds.push({
            offset: off,
            index: table.drhds.length,
            flags,
            includePciAll: (flags & 1) !== 0,
            registerSize: 2 ** (u8(bytes, off + 5) + 12),
            segment: u16(bytes, off + 6),
            registerBase: hexAddress(base),
            registerBaseValue: base,
            scopes: parseDeviceScopes(bytes, off + 16, stop, where, problems),
          });
          if (base === 0n) problems.push(`${where}: register base address is 0 (the kernel rejects such a unit)`);
        }
        break;
      case 1:
        if (!needs(where, length, 24, problems)) break;
        table.rmrrs.push({
          offset: off,
          segment: u16(bytes, off + 6),
          base: hexAddress(u64(bytes, off + 8)),
          limit: hexAddress(u64(bytes, off + 16)),
          scopes: parseDeviceScopes(bytes, off + 24, stop, where, problems),
        });
        break;
      case 2:
        if (!needs(where, length, 8, problems)) break;
        table.atsrs.push({
          offset: off,
          allPorts: (u8(bytes, off + 4) & 1) !== 0,
          segment: u16(bytes, off + 6),
          scopes: parseDeviceScopes(bytes, off + 8, stop, where, problems),
        });
        break;
      case 3:
        if (!needs(where, length, 20, problems)) break;
        table.rhsas.push({ offset: off, base: hexAddress(u64(bytes, off + 8)), proximity: u32(bytes, off + 16) });
        break;
      case 4:
        if (!needs(where, length, 8, problems)) break;
        table.andds.push({ offset: off, deviceNumber: u8(bytes, off + 7), name: ascii(bytes, off + 8, length - 8) });
        break;
      case 5:
        if (!needs(where, length, 8, problems)) break;
        table.satcs.push({
          offset: off,
          atcRequired: (u8(bytes, off + 4) & 1) !== 0,
          segment: u16(bytes, off + 6),
          scopes: parseDeviceScopes(bytes, off + 8, stop, where, problems),
        });
        break;
      case 6:
        table.others.push({ offset: off, type, length });
        break;
      default:
        problems.push(`${where}: unknown remapping structure type ${type} (length ${length}); skipped`);
        table.others.push({ offset: off, type, length });
    }
    off = stop;
  }
  if (table.drhds.length === 0) problems.push(`${label}: no DRHD (remapping unit) in the table`);
  return table;
}

function decodeFlags(raw: number): NonNullable<DmarTable['flags']> {
  return { raw, intrRemap: (raw & 1) !== 0, x2apicOptOut: (raw & 2) !== 0, dmaCtrlPlatformOptIn: (raw & 4) !== 0 };
}

function needs(where: string, length: number, min: number, problems: string[]): boolean {
  if (length >= min) return true;
  problems.push(`${where}: length ${length} is shorter than the ${min} bytes of its fixed fields; skipped`);
  return false;
}
