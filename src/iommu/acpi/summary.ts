import type { DmarSummary, Evidence, IvrsSummary } from '../iommu-report.js';
import type { DmarTable } from './dmar.js';
import type { IvrsTable } from './ivrs.js';
import { describeScope } from './device-scope.js';

/** JSON-safe views of the parsed tables (no bigint), for the report's `acpi` field. */
export function summariseDmar(t: DmarTable): DmarSummary {
  return {
    checksumValid: t.header?.checksumValid ?? null,
    hostAddressWidth: t.hostAddressWidth,
    flags: t.flags ? [t.flags.intrRemap && 'INTR_REMAP', t.flags.x2apicOptOut && 'X2APIC_OPT_OUT', t.flags.dmaCtrlPlatformOptIn && 'DMA_CTRL_PLATFORM_OPT_IN'].filter((f): f is string => !!f) : [],
    drhds: t.drhds.map((d) => ({ registerBase: d.registerBase, segment: d.segment, includePciAll: d.includePciAll, registerSize: d.registerSize, scopes: d.scopes.map(describeScope) })),
    rmrrs: t.rmrrs.map((r) => ({ segment: r.segment, base: r.base, limit: r.limit, scopes: r.scopes.map(describeScope) })),
    atsrs: t.atsrs.map((a) => ({ segment: a.segment, allPorts: a.allPorts, scopes: a.scopes.map(describeScope) })),
  };
}

export function summariseIvrs(t: IvrsTable): IvrsSummary {
  return {
    checksumValid: t.header?.checksumValid ?? null,
    ivinfo: t.ivinfo ? `0x${t.ivinfo.raw.toString(16)}` : null,
    targetIvhdType: t.targetIvhdType === null ? null : `0x${t.targetIvhdType.toString(16)}`,
    ivhds: t.ivhds.map((h) => ({ type: `0x${h.type.toString(16)}`, pciFunction: h.iommuBdf, registerBase: h.registerBase, segment: h.segment, entries: h.entries.length, all: h.coverage.all })),
    ivmds: t.ivmds.length,
  };
}

/** One evidence line per table: its units and flags. */
export function describeDmar(t: DmarTable, evidence: Evidence[]): void {
  const flags = t.flags ? [t.flags.intrRemap && 'INTR_REMAP', t.flags.x2apicOptOut && 'X2APIC_OPT_OUT', t.flags.dmaCtrlPlatformOptIn && 'DMA_CTRL_PLATFORM_OPT_IN'].filter(Boolean).join(' ') : '';
  evidence.push({
    source: 'acpi:DMAR',
    fact: `host address width ${t.hostAddressWidth ?? '?'}${flags ? `, flags ${flags}` : ''}; ${t.drhds.length} DRHD: ${t.drhds.map((d) => `${d.registerBase}${d.includePciAll ? ' INCLUDE_PCI_ALL' : ''} segment ${d.segment}`).join('; ')}${t.rmrrs.length ? `; ${t.rmrrs.length} RMRR` : ''}${t.atsrs.length ? `; ${t.atsrs.length} ATSR` : ''}${t.header?.checksumValid === false ? '; BAD CHECKSUM' : ''}`,
  });
}

export function describeIvrs(t: IvrsTable, evidence: Evidence[]): void {
  evidence.push({
    source: 'acpi:IVRS',
    fact: `IVinfo 0x${(t.ivinfo?.raw ?? 0).toString(16)}; ${t.ivhds.length} IVHD (kernel uses type 0x${(t.targetIvhdType ?? 0).toString(16)}): ${t.ivhds.filter((h) => h.type === t.targetIvhdType).map((h) => `${h.iommuBdf} at ${h.registerBase}`).join('; ')}${t.header?.checksumValid === false ? '; BAD CHECKSUM' : ''}`,
  });
}
