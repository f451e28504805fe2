import type { Root } from '../access/root.js';
import { isBdf } from '../pci/bdf.js';
import { describeError } from './describe-error.js';

/** One entry of `/sys/class/iommu`: a unit some IOMMU driver of the running kernel registered. */
export interface SysfsUnit {
  name: string;
  vendor: 'intel' | 'amd' | 'arm' | 'other';
  /** The attribute directory that told the vendor (`intel-iommu`, `amd-iommu`), null for other classes. */
  attributeDir: string | null;
  /** intel-iommu/address: the DRHD register base (`fed90000`), as `0x…`. */
  address: string | null;
  version: string | null;
  cap: string | null;
  ecap: string | null;
  /** amd-iommu/features (`EFR` or `EFR:EFR2`). */
  features: string | null;
  /** PCI functions linked under `devices/`: the kernel's own assignment of devices to this unit. */
  devices: string[];
}

export interface SysfsIommuState {
  /** Whether `sys/class/iommu` exists at all (it does in any kernel with IOMMU support since 3.17). */
  classPresent: boolean;
  units: SysfsUnit[];
  /** Number of `sys/kernel/iommu_groups` entries: groups exist only while an IOMMU driver manages devices. */
  groups: number | null;
  /** Group number → its default domain type (`sys/kernel/iommu_groups/N/type`: identity, DMA, DMA-FQ, blocked, unmanaged). */
  groupTypes: Map<number, string>;
  problems: string[];
}

const CLASS_DIR = 'sys/class/iommu';
const SMMU_NAME = /^(smmu3?)\.(0x[0-9a-f]+)$/i;
const GROUPS_DIR = 'sys/kernel/iommu_groups';

/**
 * Read what the running kernel's IOMMU drivers registered. A unit whose class the agent does not know
 * (ARM SMMU, virtio-iommu, a future driver) is listed as `other` with a problem naming it, so a verdict
 * is never given over an IOMMU that was not looked at.
 */
export function readSysfsUnits(root: Root): SysfsIommuState {
  const problems: string[] = [];
  const state: SysfsIommuState = { classPresent: false, units: [], groups: null, groupTypes: new Map(), problems };
  let names: string[] = [];
  try {
    state.classPresent = root.exists(CLASS_DIR);
    names = root.list(CLASS_DIR).sort(byNumberSuffix);
  } catch (err) {
    problems.push(`${CLASS_DIR}: ${describeError(err)}`);
  }
  for (const name of names) {
    const base = `${CLASS_DIR}/${name}`;
    const unit: SysfsUnit = { name, vendor: 'other', attributeDir: null, address: null, version: null, cap: null, ecap: null, features: null, devices: [] };
    try {
      const entries = new Set(root.list(base));
      if (entries.has('intel-iommu')) {
        unit.vendor = 'intel';
        unit.attributeDir = 'intel-iommu';
        unit.address = hexAttr(read(root, `${base}/intel-iommu/address`, problems));
        unit.version = read(root, `${base}/intel-iommu/version`, problems);
        unit.cap = hexAttr(read(root, `${base}/intel-iommu/cap`, problems));
        unit.ecap = hexAttr(read(root, `${base}/intel-iommu/ecap`, problems));
        if (unit.address === null) problems.push(`${base}/intel-iommu/address: missing or unreadable; unit cannot be matched to its DRHD`);
      } else if (entries.has('amd-iommu')) {
        unit.vendor = 'amd';
        unit.attributeDir = 'amd-iommu';
        unit.cap = hexAttr(read(root, `${base}/amd-iommu/cap`, problems));
        unit.features = read(root, `${base}/amd-iommu/features`, problems);
      } else if (SMMU_NAME.test(name)) {
        // arm-smmu-v3.c registers "smmu3.%pa", arm-smmu.c "smmu.%pa": the name is the register base.
        unit.vendor = 'arm';
        unit.address = `0x${BigInt(SMMU_NAME.exec(name)![2]!).toString(16)}`;
        unit.version = SMMU_NAME.exec(name)![1] === 'smmu3' ? '3' : '2';
      } else {
        const known = [...entries].filter((e) => !['devices', 'power', 'subsystem', 'uevent', 'device'].includes(e));
        problems.push(
          `${base}: IOMMU class not known to this agent (no intel-iommu/ or amd-iommu/ attributes, not an smmu3.0x… name${known.length ? `; has ${known.join(', ')}` : ''}); its translation state is not judged`,
        );
      }
      if (entries.has('devices')) unit.devices = root.list(`${base}/devices`).filter(isBdf).sort();
    } catch (err) {
      problems.push(`${base}: ${describeError(err)}`);
    }
    state.units.push(unit);
  }
  try {
    if (root.exists(GROUPS_DIR)) {
      const groups = root.list(GROUPS_DIR);
      state.groups = groups.length;
      // The type file exists since 5.11; read at most a few hundred (one small file each).
      for (const g of groups.slice(0, 512)) {
        if (!/^\d+$/.test(g)) continue;
        const t = read(root, `${GROUPS_DIR}/${g}/type`, problems);
        if (t) state.groupTypes.set(Number(g), t);
      }
    }
  } catch (err) {
    problems.push(`${GROUPS_DIR}: ${describeError(err)}`);
  }
  return state;
}

function read(root: Root, rel: string, problems: string[]): string | null {
  try {
    const t = root.readText(rel);
    return t === null ? null : t.trim();
  } catch (err) {
    problems.push(`${rel}: ${describeError(err)}`);
    return null;
  }
}

/** sysfs prints these with `%llx` (no prefix); the report uses `0x…`. */
function hexAttr(text: string | null): string | null {
  if (text === null || text === '') return null;
  const t = text.replace(/^0x/i, '');
  return /^[0-9a-f]+$/i.test(t) ? `0x${t.toLowerCase().replace(/^0+(?=.)/, '')}` : null;
}

function byNumberSuffix(a: string, b: string): number {
  const na = /(\d+)$/.exec(a);
  const nb = /(\d+)$/.exec(b);
  if (na && nb && a.slice(0, na.index) === b.slice(0, nb.index)) return Number(na[1]) - Number(nb[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}
