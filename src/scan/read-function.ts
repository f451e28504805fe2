import { AccessError } from '../access/access-error.js';
import type { PciAccess, PciFunctionEntry } from '../access/access.js';
import { decodeConfig, noConfig, type DecodedConfig } from '../config/decode.js';
import { canonicalBdf } from '../pci/bdf.js';
import { PCI_CFG_SPACE_SIZE, PCI_EXT_CAP_ID_SRIOV } from '../config/registers.js';

/** What one function's directory tells, before topology is worked out. */
export interface FunctionRecord {
  bdf: string;
  path: string;
  vendor: number | null;
  device: number | null;
  classCode: number | null;
  revision: number | null;
  subsystemVendor: number | null;
  subsystemDevice: number | null;
  config: DecodedConfig;
  driver: string | null;
  iommuGroup: number | null;
  /** The `reset_method` file split on spaces; null when the file is absent. */
  resetMethods: string[] | null;
  /** Whether the kernel created the `reset` file. */
  resetFile: boolean;
  physfn: string | null;
  virtfns: string[];
  problems: string[];
}

/**
 * Read one function. Config space supplies the IDs; the text attributes are read only where config
 * cannot (a short read, a function reading all ones, or an SR-IOV VF whose Vendor/Device ID read
 * 0xFFFF by design). The directory is listed only where a name cannot be tried directly: `virtfnN`
 * links of an SR-IOV PF, the `reset` file of a kernel without `reset_method` (before 5.15), and a
 * function whose config is gone. That keeps a 5,000-function scan at about a dozen syscalls per function.
 * A function that vanishes half-way keeps what was read and says so.
 */
export function readFunction(access: PciAccess, entry: PciFunctionEntry): FunctionRecord {
  // One opening of the function's directory for all of its reads (sysfs: one openat2 per function).
  return access.batch ? access.batch(entry.bdf, () => readFunctionNow(access, entry)) : readFunctionNow(access, entry);
}

function readFunctionNow(access: PciAccess, entry: PciFunctionEntry): FunctionRecord {
  const { bdf } = entry;
  const problems: string[] = [];
  const guard = <T>(what: string, fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      problems.push(describeFailure(what, err));
      return fallback;
    }
  };
  // The listing, read at most once and only when needed; null once reading it failed.
  let names: string[] | null | undefined;
  const listing = (): string[] | null => {
    if (names !== undefined) return names;
    try {
      names = access.listAttributes(bdf);
    } catch (err) {
      problems.push(describeFailure('directory', err));
      names = null;
    }
    return names;
  };

  const raw = guard('config', () => access.readConfig(bdf), null);
  // No config file: a function that vanished (its directory is gone) or one whose config is missing.
  if (raw === null && problems.length === 0 && listing() !== null) problems.push('config file missing');
  if (names === null) return vanished(entry, problems);
  const config = raw === null ? noConfig() : decodeConfig(raw);
  const header = config.header;

  const text = (name: string): number | null => guard(name, () => parseHexAttr(access.readAttribute(bdf, name), name, problems), null);
  let vendor = header?.vendor ?? null;
  let device = header?.device ?? null;
  const isVf = header !== null && header.vendor === 0xffff;
  if (vendor === null || isVf) vendor = text('vendor');
  if (device === null || isVf) device = text('device');
  const classCode = header?.classCode ?? text('class');
  const revision = header?.revision ?? text('revision');
  const subsystemVendor = header ? header.subsystemVendor : text('subsystem_vendor');
  const subsystemDevice = header ? header.subsystemDevice : text('subsystem_device');

  const link = (name: string): string | null => guard(name, () => access.readLink(bdf, name), null);
  const driverPath = link('driver');
  const groupPath = link('iommu_group');
  const physfnPath = link('physfn');
  const resetMethodText = guard('reset_method', () => access.readAttribute(bdf, 'reset_method'), null);
  // The kernel shows `reset_method` exactly when it shows `reset` (both need pci_reset_supported(),
  // 5.15 on); without it, only the listing tells. A hand-made tree with `reset_method` but no `reset`
  // is therefore read as having both.
  const resetFile = resetMethodText !== null || (listing()?.includes('reset') ?? false);
  // VF links exist only below an SR-IOV capability, which lives in extended config space: a config
  // that is unreadable or too short to hold it (64 bytes unprivileged, 256 without ECAM) could hide one.
  const mayHaveVfs =
    raw === null || header === null || raw.length <= PCI_CFG_SPACE_SIZE || config.extendedCapabilities.some((c) => c.id === PCI_EXT_CAP_ID_SRIOV);
  const virtfns = (mayHaveVfs ? listing() ?? [] : [])
    .filter((n) => /^virtfn\d+$/.test(n))
    .sort((a, b) => parseInt(a.slice(6), 10) - parseInt(b.slice(6), 10))
    .map((n) => bdfOfPath(link(n)))
    .filter((b): b is string => b !== null);

  const iommuGroup = groupPath === null ? null : parseGroup(groupPath, problems);
  return {
    bdf,
    path: entry.path,
    vendor,
    device,
    classCode,
    revision,
    subsystemVendor,
    subsystemDevice,
    config,
    driver: driverPath === null ? null : basename(driverPath),
    iommuGroup,
    resetMethods: resetMethodText === null ? null : resetMethodText.split(/\s+/).filter((s) => s !== ''),
    resetFile,
    physfn: bdfOfPath(physfnPath),
    virtfns,
    problems: problems.concat(config.problems),
  };
}

/** A function whose directory went away between the listing and the read: nothing more to read. */
function vanished(entry: PciFunctionEntry, problems: string[]): FunctionRecord {
  return {
    bdf: entry.bdf,
    path: entry.path,
    vendor: null,
    device: null,
    classCode: null,
    revision: null,
    subsystemVendor: null,
    subsystemDevice: null,
    config: noConfig(),
    driver: null,
    iommuGroup: null,
    resetMethods: null,
    resetFile: false,
    physfn: null,
    virtfns: [],
    problems,
  };
}

function describeFailure(what: string, err: unknown): string {
  if (err instanceof AccessError) {
    if (err.code === 'ENOENT' || err.code === 'ENODEV') return `function vanished during scan (${what}: ${err.code})`;
    return `${what}: ${err.message}`;
  }
  return `${what}: ${(err as Error).message}`;
}

function parseHexAttr(textValue: string | null, name: string, problems: string[]): number | null {
  if (textValue === null) return null;
  const t = textValue.trim();
  if (!/^(0x)?[0-9a-f]+$/i.test(t)) {
    problems.push(`${name}: not a hexadecimal number: ${JSON.stringify(t.slice(0, 40))}`);
    return null;
  }
  return parseInt(t, 16);
}

function parseGroup(p: string, problems: string[]): number | null {
  const name = basename(p);
  if (!/^\d+$/.test(name)) {
    problems.push(`iommu_group link leads to ${JSON.stringify(name)}, not a group number`);
    return null;
  }
  return parseInt(name, 10);
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function bdfOfPath(p: string | null): string | null {
  if (p === null) return null;
  return canonicalBdf(basename(p));
}
