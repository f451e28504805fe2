import type { ScanDevice, ScanResult } from '../scan/scan-result.js';
import { parseBdf } from '../pci/bdf.js';
import type { Drhd } from './acpi/dmar.js';
import { describeScope, type DeviceScope } from './acpi/device-scope.js';
import type { Ivhd } from './acpi/ivrs.js';
import { iortSmmuFor, type IortTable } from './acpi/iort.js';
import type { DeviceTreeIommu } from './arm/devicetree.js';

/** Which unit translates each PCI function, and how that was worked out. */
export interface Coverage {
  unitOf: Map<string, string>;
  /** DRHD scopes resolved to functions, for evidence (`dmar1 scope bridge bus 00 path 1c.0 → 0000:00:1c.0`). */
  resolved: { unit: string; scope: string; bdf: string }[];
  problems: string[];
}

function slotKey(domain: number, bus: number, dev: number, fn: number): string {
  return `${domain}:${bus}:${dev}:${fn}`;
}

function index(scan: ScanResult): Map<string, ScanDevice> {
  const m = new Map<string, ScanDevice>();
  for (const d of scan.devices) {
    const b = parseBdf(d.bdf);
    if (b) m.set(slotKey(b.domain, b.bus, b.dev, b.fn), d);
  }
  return m;
}

/**
 * Follow a DMAR device scope from its start bus through each hop; every hop but the last must be a
 * bridge, whose secondary bus number (config 0x19) is the bus of the next hop (VT-d spec 8.3.1).
 */
export function resolveScope(scope: DeviceScope, segment: number, byslot: Map<string, ScanDevice>): { bdf: string } | { problem: string } {
  if (scope.kind !== 'endpoint' && scope.kind !== 'bridge') return { problem: `${scope.kind} scope is not a PCI function` };
  if (scope.path.length === 0) return { problem: 'empty path' };
  let bus = scope.startBus;
  let dev: ScanDevice | undefined;
  for (let i = 0; i < scope.path.length; i++) {
    const hop = scope.path[i]!;
    dev = byslot.get(slotKey(segment, bus, hop.device, hop.function));
    const where = `${segment.toString(16).padStart(4, '0')}:${bus.toString(16).padStart(2, '0')}:${hop.device.toString(16).padStart(2, '0')}.${hop.function}`;
    if (!dev) return { problem: `no function at ${where} (hop ${i + 1} of ${scope.path.length})` };
    if (i < scope.path.length - 1) {
      if (dev.secondaryBus === null) return { problem: `${dev.bdf} (hop ${i + 1}) is not a bridge, the path cannot continue` };
      bus = dev.secondaryBus;
    }
  }
  return { bdf: dev!.bdf };
}

/**
 * The kernel's rule (dmar_find_matched_drhd_unit): a function belongs to the first DRHD whose scopes list
 * it or one of its upstream bridges; INCLUDE_PCI_ALL units (kept last) take whatever is left in their
 * segment.
 */
export function intelCoverage(units: { name: string; drhd: Drhd }[], scan: ScanResult): Coverage {
  const cov: Coverage = { unitOf: new Map(), resolved: [], problems: [] };
  const byslot = index(scan);
  const byBdf = new Map(scan.devices.map((d) => [d.bdf, d]));
  const scoped: { name: string; members: Set<string> }[] = [];
  for (const { name, drhd } of units) {
    if (drhd.includePciAll) continue;
    const members = new Set<string>();
    for (const scope of drhd.scopes) {
      if (scope.kind !== 'endpoint' && scope.kind !== 'bridge') continue;
      const r = resolveScope(scope, drhd.segment, byslot);
      if ('problem' in r) {
        cov.problems.push(`${name} (DRHD at ${drhd.registerBase}) scope ${describeScope(scope)}: ${r.problem}`);
        continue;
      }
      members.add(r.bdf);
      cov.resolved.push({ unit: name, scope: describeScope(scope), bdf: r.bdf });
    }
    scoped.push({ name, members });
  }
  const catchAll = new Map<number, string>();
  for (const { name, drhd } of units) if (drhd.includePciAll && !catchAll.has(drhd.segment)) catchAll.set(drhd.segment, name);

  for (const d of scan.devices) {
    let unit: string | null = null;
    for (const s of scoped) {
      for (let cur: ScanDevice | undefined = d, hops = 0; cur && hops < 64; cur = cur.parent ? byBdf.get(cur.parent) : undefined, hops++) {
        if (s.members.has(cur.bdf)) {
          unit = s.name;
          break;
        }
      }
      if (unit) break;
    }
    if (!unit) unit = catchAll.get(parseBdf(d.bdf)!.domain) ?? null;
    if (unit) cov.unitOf.set(d.bdf, unit);
  }
  return cov;
}

/**
 * AMD: a function belongs to the IVHD whose device entries (SELECT, ranges, ALIAS, ALL) list its
 * 16-bit device ID in the IVHD's segment; later IVHDs override earlier ones, as the kernel's
 * rlookup table does. The IOMMU's own function is never translated by itself.
 */
export function amdCoverage(units: { name: string; ivhd: Ivhd }[], scan: ScanResult): Coverage {
  const cov: Coverage = { unitOf: new Map(), resolved: [], problems: [] };
  for (const d of scan.devices) {
    const b = parseBdf(d.bdf)!;
    const devid = (b.bus << 8) | (b.dev << 3) | b.fn;
    let unit: string | null = null;
    for (const { name, ivhd } of units) {
      if (ivhd.segment !== b.domain || ivhd.iommuBdf === d.bdf) continue;
      if (ivhd.coverage.all || ivhd.coverage.ranges.some((r) => devid >= r.first && devid <= r.last)) unit = name;
    }
    if (unit) cov.unitOf.set(d.bdf, unit);
  }
  return cov;
}

/**
 * ARM: which SMMU translates each PCI function, by the firmware's ID mappings: IORT root-complex
 * mappings (iort_node_map_id(): requester ID → stream ID of an SMMU node, or straight to an ITS = no
 * SMMU) and device-tree `iommu-map`s (of_map_id(): rid-base, phandle, sid-base, length). Also the stream
 * ID, which the RMR check needs.
 */
export function armCoverage(
  units: { name: string; iortOffset: number | null; dtPhandle: number | null }[],
  iort: IortTable | null,
  dt: DeviceTreeIommu | null,
  scan: ScanResult,
): Coverage & { streamOf: Map<string, { unit: string; sid: number }> } {
  const cov = { unitOf: new Map<string, string>(), resolved: [] as Coverage['resolved'], problems: [] as string[], streamOf: new Map<string, { unit: string; sid: number }>() };
  for (const d of scan.devices) {
    const b = parseBdf(d.bdf)!;
    const rid = (b.bus << 8) | (b.dev << 3) | b.fn;
    if (iort) {
      const hit = iortSmmuFor(iort, b.domain, rid);
      if (hit && hit.smmu !== null) {
        const u = units.find((x) => x.iortOffset === hit.smmu);
        if (u) {
          cov.unitOf.set(d.bdf, u.name);
          cov.streamOf.set(d.bdf, { unit: u.name, sid: hit.streamId });
          continue;
        }
      }
    }
    for (const m of dt?.maps ?? []) {
      if (m.segment !== b.domain) continue;
      const e = m.entries.find((x) => rid >= x.ridBase && rid < x.ridBase + x.length);
      if (!e) continue;
      const u = units.find((x) => x.dtPhandle === e.phandle);
      if (u) {
        cov.unitOf.set(d.bdf, u.name);
        cov.streamOf.set(d.bdf, { unit: u.name, sid: e.sidBase + (rid - e.ridBase) });
      }
      break;
    }
  }
  return cov;
}
