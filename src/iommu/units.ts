import type { DmarTable, Drhd } from './acpi/dmar.js';
import type { Ivhd, IvrsTable } from './acpi/ivrs.js';
import type { IortSmmu, IortTable } from './acpi/iort.js';
import type { DeviceTreeIommu, DtSmmu } from './arm/devicetree.js';
import type { SysfsUnit } from './sysfs-units.js';
import type { LogFacts } from './kmsg/parse-log.js';
import { hexAddress } from './acpi/bytes.js';

/** One IOMMU unit with everything known about where it is, before any judgement. */
export interface UnitRecord {
  name: string;
  vendor: 'intel' | 'amd' | 'arm' | 'other';
  base: bigint | null;
  drhd: Drhd | null;
  ivhd: Ivhd | null;
  sysfs: SysfsUnit | null;
  /** ARM: the IORT node or device-tree node of the SMMU. */
  iortSmmu?: IortSmmu | null;
  dtSmmu?: DtSmmu | null;
  knownFrom: string[];
  /** How the name was found: the kernel's (sysfs, a log line) or assumed from the table order. */
  nameFrom: 'sysfs' | 'kmsg' | 'table-order' | 'log';
}

/**
 * Put the sources together by register base (Intel: DRHD address = sysfs `address` = the boot line
 * "dmarN: reg_base_addr") and by IVHD order (AMD: ivhdN is the Nth IVHD of the type the kernel uses).
 * A DRHD no kernel named gets `dmar<index>`: the kernel numbers units in table order.
 */
export function buildUnits(
  dmar: DmarTable | null,
  ivrs: IvrsTable | null,
  sysfs: SysfsUnit[],
  logs: LogFacts[],
  arm: { iort: IortTable | null; dt: DeviceTreeIommu | null } = { iort: null, dt: null },
): { units: UnitRecord[]; notes: string[] } {
  const notes: string[] = [];
  const units: UnitRecord[] = [];
  const taken = new Set<string>();
  const logName = (addr: string): string | null => {
    for (const l of logs) for (const [name, a] of l.intel.addresses) if (a === addr) return name;
    return null;
  };

  for (const drhd of dmar?.drhds ?? []) {
    const s = sysfs.find((u) => u.vendor === 'intel' && u.address === drhd.registerBase);
    let name: string;
    let nameFrom: UnitRecord['nameFrom'];
    if (s) {
      name = s.name;
      nameFrom = 'sysfs';
    } else if (logName(drhd.registerBase)) {
      name = logName(drhd.registerBase)!;
      nameFrom = 'kmsg';
    } else {
      name = `dmar${drhd.index}`;
      nameFrom = 'table-order';
    }
    if (taken.has(name)) {
      notes.push(`DRHD at ${drhd.registerBase}: name ${name} already used; named dmar-${drhd.registerBase}`);
      name = `dmar-${drhd.registerBase}`;
    }
    taken.add(name);
    units.push({ name, vendor: 'intel', base: drhd.registerBaseValue, drhd, ivhd: null, sysfs: s ?? null, knownFrom: ['acpi:DMAR', ...(s ? ['sysfs'] : [])], nameFrom });
  }

  const target = ivrs?.targetIvhdType ?? null;
  const ivhds = (ivrs?.ivhds ?? []).filter((h) => h.type === target);
  ivhds.forEach((ivhd, i) => {
    const name = `ivhd${i}`;
    const s = sysfs.find((u) => u.vendor === 'amd' && u.name === name) ?? null;
    taken.add(name);
    units.push({ name, vendor: 'amd', base: ivhd.registerBaseValue, drhd: null, ivhd, sysfs: s, knownFrom: ['acpi:IVRS', ...(s ? ['sysfs'] : [])], nameFrom: s ? 'sysfs' : 'table-order' });
  });

  // ARM SMMUs: IORT nodes, device-tree nodes, named like the kernel names them ("smmu3.%pa").
  const armSeen = new Map<string, UnitRecord>();
  const armUnit = (base: bigint | null, version: 2 | 3, from: string): UnitRecord => {
    const key = base === null ? `${from}:${armSeen.size}` : base.toString(16);
    const have = armSeen.get(key);
    if (have) {
      if (!have.knownFrom.includes(from)) have.knownFrom.push(from);
      return have;
    }
    const name = base === null ? `smmu${version === 3 ? '3' : ''}.unknown${armSeen.size}` : `${version === 3 ? 'smmu3' : 'smmu'}.0x${base.toString(16).padStart(16, '0')}`;
    const s = sysfs.find((x) => x.vendor === 'arm' && x.address !== null && base !== null && BigInt(x.address) === base) ?? null;
    const u: UnitRecord = { name: s?.name ?? name, vendor: 'arm', base, drhd: null, ivhd: null, sysfs: s, iortSmmu: null, dtSmmu: null, knownFrom: [from, ...(s && from !== 'sysfs' ? ['sysfs'] : [])], nameFrom: s ? 'sysfs' : 'table-order' };
    armSeen.set(key, u);
    taken.add(u.name);
    units.push(u);
    return u;
  };
  for (const m of arm.iort?.smmus ?? []) armUnit(m.baseValue, m.version, 'acpi:IORT').iortSmmu = m;
  for (const m of arm.dt?.smmus ?? []) armUnit(m.base, m.version, 'devicetree').dtSmmu = m;

  for (const s of sysfs) {
    if (units.some((u) => u.sysfs === s)) continue;
    if (s.vendor === 'arm') {
      armUnit(s.address ? BigInt(s.address) : null, s.version === '3' ? 3 : 2, 'sysfs');
      continue;
    }
    if (taken.has(s.name)) {
      notes.push(`sysfs ${s.name} does not match the ACPI unit of that name${s.address ? ` (address ${s.address})` : ''}`);
    }
    taken.add(s.name);
    const base = s.address ? BigInt(s.address) : null;
    units.push({ name: s.name, vendor: s.vendor, base, drhd: null, ivhd: null, sysfs: s, knownFrom: ['sysfs'], nameFrom: 'sysfs' });
    if (s.vendor === 'intel' || s.vendor === 'amd') notes.push(`${s.name}: registered by the kernel but not in the ${s.vendor === 'intel' ? 'DMAR' : 'IVRS'} table as read`);
  }

  // Units only a log names (the table unreadable, sysfs absent): still units whose state matters.
  for (const l of logs) {
    for (const [name, addr] of l.intel.addresses) {
      if (taken.has(name) || units.some((u) => u.base !== null && hexAddress(u.base) === addr)) continue;
      taken.add(name);
      units.push({ name, vendor: 'intel', base: BigInt(addr), drhd: null, ivhd: null, sysfs: null, knownFrom: [l.source], nameFrom: 'log' });
    }
  }
  for (const l of logs) {
    const named = [...l.intel.copied, ...l.intel.copyFailed, ...l.intel.preEnabledNotKdump];
    for (const name of named) {
      if (taken.has(name)) continue;
      taken.add(name);
      units.push({ name, vendor: 'intel', base: null, drhd: null, ivhd: null, sysfs: null, knownFrom: [l.source], nameFrom: 'log' });
    }
  }
  return { units, notes };
}
