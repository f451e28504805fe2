import { hexOffset, u8 } from './bytes.js';

/** `enum acpi_dmar_scope_type` (include/acpi/actbl1.h). */
export const SCOPE_TYPES: Record<number, string> = {
  1: 'endpoint',
  2: 'bridge',
  3: 'ioapic',
  4: 'hpet',
  5: 'namespace',
};

export type ScopeKind = 'endpoint' | 'bridge' | 'ioapic' | 'hpet' | 'namespace' | 'unknown';

/** One `struct acpi_dmar_device_scope` and its path of {device, function} hops. */
export interface DeviceScope {
  type: number;
  kind: ScopeKind;
  /** IOAPIC id, HPET number or ACPI device number; 0 for PCI scopes. */
  enumerationId: number;
  startBus: number;
  path: { device: number; function: number }[];
}

/** Size of the fixed part of a device scope: type, length, flags, reserved, enumeration id, start bus. */
const SCOPE_HEADER = 6;

/**
 * Walk the device scopes of one remapping structure, `[start, end)`. A scope whose length is under 6
 * or runs past its structure stops the walk (a zero length would otherwise loop forever); what was read
 * before it is kept.
 */
export function parseDeviceScopes(b: Uint8Array, start: number, end: number, where: string, problems: string[]): DeviceScope[] {
  const scopes: DeviceScope[] = [];
  let off = start;
  while (off < end) {
    if (off + 2 > end) {
      problems.push(`${where}: ${end - off} stray byte(s) at ${hexOffset(off)} after the device scopes`);
      break;
    }
    const type = u8(b, off);
    const length = u8(b, off + 1);
    if (length < SCOPE_HEADER) {
      problems.push(`${where}: device scope at ${hexOffset(off)} has length ${length} (< ${SCOPE_HEADER}); scope walk stopped`);
      break;
    }
    if (off + length > end) {
      problems.push(`${where}: device scope at ${hexOffset(off)} (length ${length}) overruns its structure; scope walk stopped`);
      break;
    }
    if ((length - SCOPE_HEADER) % 2 !== 0) {
      problems.push(`${where}: device scope at ${hexOffset(off)} has an odd path length ${length - SCOPE_HEADER}; last byte ignored`);
    }
    const path: DeviceScope['path'] = [];
    for (let p = off + SCOPE_HEADER; p + 1 < off + length; p += 2) path.push({ device: u8(b, p), function: u8(b, p + 1) });
    const kind = (SCOPE_TYPES[type] as ScopeKind | undefined) ?? 'unknown';
    if (kind === 'unknown') problems.push(`${where}: device scope at ${hexOffset(off)} has unknown type ${type}; kept, not resolved`);
    if ((kind === 'endpoint' || kind === 'bridge') && path.length === 0) {
      problems.push(`${where}: PCI device scope at ${hexOffset(off)} has an empty path; not resolvable`);
    }
    scopes.push({ type, kind, enumerationId: u8(b, off + 4), startBus: u8(b, off + 5), path });
    off += length;
  }
  return scopes;
}

/** `ff:00.0`-style text of a scope's path for reports: start bus, then each hop. */
export function describeScope(s: DeviceScope): string {
  const hops = s.path.map((h) => `${h.device.toString(16).padStart(2, '0')}.${h.function.toString(16)}`).join('/');
  const id = s.kind === 'ioapic' || s.kind === 'hpet' || s.kind === 'namespace' ? ` id ${s.enumerationId}` : '';
  return `${s.kind}${id} bus ${s.startBus.toString(16).padStart(2, '0')} path ${hops || '(none)'}`;
}
