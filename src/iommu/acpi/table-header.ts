import { ascii, u32, u8 } from './bytes.js';

/** The 36-byte `struct acpi_table_header` every ACPI table starts with. */
export const ACPI_HEADER_LENGTH = 36;

export interface AcpiTableHeader {
  signature: string;
  /** Length the table claims (whole table, header included). */
  length: number;
  revision: number;
  checksum: number;
  /** Whether all bytes sum to 0 mod 256; null when the table is cut short and the sum cannot be taken. */
  checksumValid: boolean | null;
  oemId: string;
  oemTableId: string;
  oemRevision: number;
  creatorId: string;
  creatorRevision: number;
}

export interface HeaderResult {
  header: AcpiTableHeader | null;
  /** Bytes that may be walked: the claimed length, or fewer when the file is shorter. */
  end: number;
  /** The bytes cannot be trusted whole: no header, wrong signature, cut short, or a bad checksum. */
  damaged: boolean;
  problems: string[];
}

/**
 * Check the header the way the kernel's table loader does (signature, length, checksum), but keep going
 * with whatever is inside the bytes we have: a bad checksum is reported, not fatal, because the table is
 * still the best witness of which units exist.
 */
export function parseTableHeader(bytes: Uint8Array, expected: string, label: string): HeaderResult {
  const problems: string[] = [];
  if (bytes.length < ACPI_HEADER_LENGTH) {
    problems.push(`${label}: ${bytes.length} bytes, shorter than the ${ACPI_HEADER_LENGTH}-byte ACPI header; table ignored`);
    return { header: null, end: 0, damaged: true, problems };
  }
  const signature = ascii(bytes, 0, 4);
  let damaged = false;
  if (signature !== expected) {
    problems.push(`${label}: signature "${signature}", expected "${expected}"`);
    damaged = true;
  }
  const length = u32(bytes, 4);
  let end = length;
  let checksumValid: boolean | null = null;
  if (length < ACPI_HEADER_LENGTH) {
    problems.push(`${label}: header length ${length} is smaller than the header itself; using the file size ${bytes.length}`);
    end = bytes.length;
    damaged = true;
  } else if (length > bytes.length) {
    problems.push(`${label}: truncated: header says ${length} bytes, file has ${bytes.length}; checksum not verifiable, parsing what is there`);
    end = bytes.length;
    damaged = true;
  } else {
    let sum = 0;
    for (let i = 0; i < length; i++) sum = (sum + bytes[i]!) & 0xff;
    checksumValid = sum === 0;
    if (!checksumValid) {
      problems.push(`${label}: bad checksum (bytes sum to 0x${sum.toString(16)}, not 0); contents used with caution`);
      damaged = true;
    }
    if (length < bytes.length) problems.push(`${label}: ${bytes.length - length} bytes after the table's length ${length} ignored`);
  }
  return {
    header: {
      signature,
      length,
      revision: u8(bytes, 8),
      checksum: u8(bytes, 9),
      checksumValid,
      oemId: ascii(bytes, 10, 6).trimEnd(),
      oemTableId: ascii(bytes, 16, 8).trimEnd(),
      oemRevision: u32(bytes, 24),
      creatorId: ascii(bytes, 28, 4).trimEnd(),
      creatorRevision: u32(bytes, 32),
    },
    end,
    damaged,
    problems,
  };
}
