import type { IommuUnit } from './iommu-report.js';
import type { RegisterValues } from './registers.js';
import type { UnitRecord } from './units.js';
import type { UnitVerdict } from './verdict.js';
import { VTD } from './registers.js';
import { hexAddress } from './acpi/bytes.js';

/** A unit as the report shows it: what it is, the decided fields with their basis, the registers as hex. */
export function toReportUnit(
  u: UnitRecord,
  v: UnitVerdict,
  reg: RegisterValues | undefined,
  extra: Pick<IommuUnit, 'notes' | 'oldTables' | 'snp' | 'smmu'> = { notes: [], oldTables: null, snp: null, smmu: null },
): IommuUnit {
  const values: Record<string, string> = {};
  if (reg) {
    if (reg.ver !== undefined) values.VER = `0x${reg.ver.toString(16)}`;
    if (reg.cap !== undefined) values.CAP = hexAddress(reg.cap);
    if (reg.ecap !== undefined) values.ECAP = hexAddress(reg.ecap);
    if (reg.gsts !== undefined) values.GSTS = `0x${reg.gsts.toString(16).padStart(8, '0')}`;
    if (reg.rtaddr !== undefined) values.RTADDR = hexAddress(reg.rtaddr);
    if (reg.devTable !== undefined) values.DEV_TABLE = hexAddress(reg.devTable);
    if (reg.control !== undefined) values.CONTROL = hexAddress(reg.control);
    if (reg.extFeatures !== undefined) values.EXT_FEATURES = hexAddress(reg.extFeatures);
    const h32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
    if (reg.idr0 !== undefined) values.IDR0 = h32(reg.idr0);
    if (reg.cr0 !== undefined) values.CR0 = h32(reg.cr0);
    if (reg.gbpa !== undefined) values.GBPA = h32(reg.gbpa);
    if (reg.gerror !== undefined) values.GERROR = h32(reg.gerror);
    if (reg.gerrorn !== undefined) values.GERRORN = h32(reg.gerrorn);
    if (reg.strtabBase !== undefined) values.STRTAB_BASE = hexAddress(reg.strtabBase);
    if (reg.strtabBaseCfg !== undefined) values.STRTAB_BASE_CFG = h32(reg.strtabBaseCfg);
  }
  return {
    name: u.name,
    vendor: u.vendor,
    registerBase: u.base === null ? null : hexAddress(u.base),
    translationEnabledNow: v.now.value,
    translationEnabledBefore: v.before.value,
    tablesCopied: v.copied.value,
    managedNow: v.managed.value,
    case: v.case,
    segment: u.drhd?.segment ?? u.ivhd?.segment ?? null,
    pciFunction: u.ivhd?.iommuBdf ?? null,
    includesAll: u.drhd ? u.drhd.includePciAll : u.ivhd ? u.ivhd.coverage.all : null,
    knownFrom: u.knownFrom,
    registers: reg ? { source: reg.source, values } : null,
    irqRemapNow: reg?.gsts !== undefined ? (reg.gsts & VTD.IRES) !== 0 : null,
    basis: { now: v.now.basis, before: v.before.basis, tablesCopied: v.copied.basis, managed: v.managed.basis },
    oldTables: extra.oldTables,
    snp: extra.snp,
    smmu: extra.smmu,
    notes: extra.notes,
  };
}
