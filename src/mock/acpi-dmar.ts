/**
 * A minimal ACPI DMAR table writer for example trees: the 48-byte header (include/acpi/actbl1.h,
 * `struct acpi_table_dmar`), DRHD structures (`struct acpi_dmar_hardware_unit`) and their device scopes
 * (`struct acpi_dmar_device_scope`), byte for byte, checksum fixed. Damaged and exotic tables for the
 * parser's own tests are built by test/iommu/acpi-bytes.ts.
 */

export interface DmarScope {
  /** 1 endpoint, 2 bridge, 3 IOAPIC. */
  type: 1 | 2 | 3;
  startBus: number;
  device: number;
  fn: number;
  enumerationId?: number;
}

export interface DmarUnit {
  base: number;
  includePciAll: boolean;
  scopes: DmarScope[];
}

const le = (value: number, bytes: number): number[] => Array.from({ length: bytes }, (_, i) => Math.floor(value / 2 ** (8 * i)) & 0xff);
const ascii = (s: string, width: number): number[] => Array.from({ length: width }, (_, i) => (i < s.length ? s.charCodeAt(i) : 0x20));

/** QEMU's OEM fields (hw/i386/acpi-build.c): "BOCHS " / "BXPC    ", creator "BXPC" 1. */
export function dmarTable(hostAddressWidth: number, intrRemap: boolean, units: DmarUnit[]): Uint8Array {
  const body: number[] = [hostAddressWidth - 1, intrRemap ? 1 : 0, ...new Array<number>(10).fill(0)];
  for (const u of units) {
    const scopes = u.scopes.flatMap((s) => [s.type, 8, 0, 0, s.enumerationId ?? 0, s.startBus, s.device, s.fn]);
    body.push(...le(0, 2), ...le(16 + scopes.length, 2), u.includePciAll ? 1 : 0, 0, ...le(0, 2), ...le(u.base, 8), ...scopes);
  }
  const table = Uint8Array.from([...ascii('DMAR', 4), ...le(36 + body.length, 4), 1, 0, ...ascii('BOCHS ', 6), ...ascii('BXPC    ', 8), ...le(1, 4), ...ascii('BXPC', 4), ...le(1, 4), ...body]);
  let sum = 0;
  for (const b of table) sum = (sum + b) & 0xff;
  table[9] = (0x100 - sum) & 0xff;
  return table;
}
