import type { Claim, Field, Strength, VerdictInput } from '../verdict.js';
import type { UnitRecord } from '../units.js';
import type { LogFacts } from '../kmsg/parse-log.js';
import type { RegisterValues } from '../registers.js';
import { SMMUV3 } from '../registers.js';
import { hexAddress } from '../acpi/bytes.js';

/**
 * What happened to stale DMA behind an SMMUv3 in a capture kernel:
 *
 * - `aborted`: mainline. arm_smmu_device_reset() (arm-smmu-v3.c:4175 in Linux 6.18.19) finds SMMUEN set,
 *   prints "SMMU currently enabled! Resetting...", sets GBPA=ABORT, disables the SMMU and installs a fresh
 *   stream table: stale DMA is aborted (AER/SError noise), and in kdump the event queue stays off
 *   (`enables &= ~(CR0_EVTQEN | CR0_PRIQEN)` when is_kdump_kernel(), :4285), so no fault is logged.
 * - `adopted`: the capture kernel kept the crashed kernel's stream table (the 2026 series "kdump:
 *   retaining SMMUEN for in-flight DMA", coherent SMMUs not in service-failure mode): STRTAB_BASE points
 *   outside this kernel's memory while SMMUEN is set. Case 4 with the old tables.
 * - `bypass`: SMMUEN clear with GBPA.ABORT clear (no driver ran it after a reset, or firmware left it so),
 *   or identity domains / RMR bypass streams: stray DMA reaches raw memory (3b).
 * - `unknown`: not established.
 */
export type SmmuOutcome = 'aborted' | 'adopted' | 'bypass' | 'unknown';

export interface SmmuFacts {
  outcome: SmmuOutcome | null;
  /** Why the outcome was chosen. */
  basis: string | null;
  /** Stream IDs the IORT RMR nodes leave in bypass (arm_smmu_rmr_install_bypass_ste()). */
  rmrStreams: { first: number; count: number }[];
}

type ClaimFn = (unit: string, field: Field, value: boolean, strength: Strength, source: string, fact: string, absence?: boolean) => void;

export interface ArmInputs {
  captureKernel: boolean;
  classPresent: boolean;
  kmsg: LogFacts | null;
  oldLog: LogFacts | null;
  registers: RegisterValues[];
  /** This kernel's own memory (arm64: /chosen linux,usable-memory-range; else proc/iomem System RAM). */
  ownMemory: { start: bigint; end: bigint }[] | null;
  armUnits: number;
}

/** Does a log line's device name (`arm-smmu-v3.0.auto`, `9050000.smmuv3`) belong to this unit? */
function logMatches(u: UnitRecord, device: string | null, armUnits: number): boolean {
  if (armUnits === 1) return true;
  if (!device || u.base === null) return false;
  return device.toLowerCase().includes(u.base.toString(16));
}

export function smmuClaims(u: UnitRecord, x: ArmInputs, claim: ClaimFn, untouched: VerdictInput['untouched'], note: (text: string) => void): void {
  const inSysfs = u.sysfs !== null;
  const reg = x.registers.find((r) => r.unit === u.name);
  const src = reg ? `mmio:${u.name}` : '';
  if (inSysfs) {
    claim(u.name, 'managed', true, 'measured', `sysfs:${u.name}`, 'registered in /sys/class/iommu by this kernel\'s arm-smmu driver');
    // arm_smmu_device_reset() ends by setting SMMUEN (arm-smmu-v3.c:4288).
    claim(u.name, 'now', true, 'inferred', `sysfs:${u.name}`, 'the driver runs the SMMU and arm_smmu_device_reset() enables SMMUEN');
  } else if (x.classPresent) {
    claim(u.name, 'managed', false, 'inferred', 'sysfs:iommu', `${u.name} is not in /sys/class/iommu: no arm-smmu driver runs it (module not loaded, or not in the image)`);
  }
  if (reg?.cr0 !== undefined) {
    const en = (reg.cr0 & SMMUV3.SMMUEN) !== 0;
    const abort = ((reg.gbpa ?? 0) & SMMUV3.GBPA_ABORT) !== 0;
    const regs = `CR0=0x${reg.cr0.toString(16)} (SMMUEN=${en ? 1 : 0}, EVTQEN=${reg.cr0 & SMMUV3.EVTQEN ? 1 : 0}), GBPA=0x${(reg.gbpa ?? 0).toString(16)} (ABORT=${abort ? 1 : 0})`;
    if (en) claim(u.name, 'now', true, 'measured', src, `${regs}: the SMMU translates`);
    // With SMMUEN clear the Global Bypass Attribute decides: ABORT terminates every transaction (stray DMA
    // never reaches memory, as with translation on); otherwise transactions bypass untranslated (3b).
    else if (abort) claim(u.name, 'now', true, 'measured', src, `${regs}: disabled, but every transaction is aborted (no DMA reaches memory)`);
    else claim(u.name, 'now', false, 'measured', src, `${regs}: disabled with GBPA.ABORT clear, transactions bypass the SMMU untranslated`);
    if (en && !inSysfs && x.classPresent && x.captureKernel) {
      claim(u.name, 'before', true, 'inferred', src, 'SMMUEN is set although no driver here runs the SMMU: the crashed kernel left it on');
    }
    const strtab = (reg.strtabBase ?? 0n) & SMMUV3.STRTAB_ADDR_MASK;
    if (!en && strtab === 0n && reg.cr0 === 0 && !inSysfs && x.classPresent && x.captureKernel) {
      claim(u.name, 'before', false, 'measured', src, 'CR0=0 and STRTAB_BASE=0 on an SMMU no driver here runs: no kernel ever set up a stream table');
    }
    // A stream table the driver runs from outside this kernel's memory can only be the crashed kernel's
    // (the adoption series keeps STRTAB_BASE; mainline's arm_smmu_device_reset() writes a fresh one from
    // this kernel's memory): the crashed kernel had set the SMMU up, and enables SMMUEN right after
    // (arm_smmu_device_reset(), arm-smmu-v3.c:4288). Positive evidence from a register, not an absence.
    if (en && inSysfs && x.captureKernel && strtab !== 0n && outsideOwnMemory(strtab, x)) {
      claim(u.name, 'before', true, 'inferred', src, `STRTAB_BASE=${hexAddress(strtab)} lies outside this kernel's memory while this kernel's driver runs the SMMU: the crashed kernel's stream table, so translation was on before`);
    }
    if (sfmActive(reg)) note(`GERROR.SFM_ERR is active: the SMMU is in service-failure mode (the old stream table cannot be adopted)`);
    if (en && !(reg.cr0 & SMMUV3.EVTQEN) && x.captureKernel) note('event queue off (CR0.EVTQEN=0, as arm_smmu_device_reset() leaves it in kdump): translation faults of stale DMA are not logged');
  }
  const k = x.kmsg;
  if (k && x.captureKernel && k.smmu.resets > 0 && (x.armUnits === 1 || k.smmu.probed.some((d) => logMatches(u, d, x.armUnits)))) {
    claim(u.name, 'before', true, 'logged', k.source, '"SMMU currently enabled! Resetting..." (arm_smmu_device_reset() found SMMUEN set by the crashed kernel, then set GBPA=ABORT and a fresh stream table)');
  }
  if (k && x.captureKernel && !inSysfs && x.classPresent && !k.smmu.probed.some((d) => logMatches(u, d, x.armUnits))) {
    untouched.push({ unit: u.name, source: `sysfs:iommu`, fact: `no arm-smmu driver probed ${u.name} in this kernel (not in /sys/class/iommu, no "ias … oas …" line): nothing reset it` });
  }
  const o = x.oldLog;
  if (o && x.captureKernel && o.smmu.probed.some((d) => logMatches(u, d, x.armUnits))) {
    claim(u.name, 'before', true, 'logged', o.source, 'the crashed kernel probed the SMMU ("ias … oas … (features …)"), and arm_smmu_device_reset() enables SMMUEN right after');
  }
}

/** The outcome once the unit's case is known. */
export function smmuOutcome(u: UnitRecord, v: { before: boolean | null; now: boolean | null; managed: boolean | null }, x: ArmInputs, rmrStreams: SmmuFacts['rmrStreams'], passthroughNow: boolean | null): SmmuFacts {
  const reg = x.registers.find((r) => r.unit === u.name);
  const facts: SmmuFacts = { outcome: 'unknown', basis: null, rmrStreams };
  if (v.before === false) return { ...facts, outcome: null, basis: 'off in the crashed kernel: no stale translation' };
  if (v.now === false) return { ...facts, outcome: 'bypass', basis: 'SMMUEN clear with GBPA.ABORT clear: stray DMA bypasses the SMMU' };
  if (passthroughNow === true && v.managed === true) return { ...facts, outcome: 'bypass', basis: 'identity default domains here (iommu.passthrough=1 / "Default domain type: Passthrough"): attached streams bypass translation' };
  const strtab = reg?.strtabBase !== undefined ? reg.strtabBase & SMMUV3.STRTAB_ADDR_MASK : null;
  if (v.managed === true && v.now === true && strtab !== null && strtab !== 0n && x.ownMemory && x.ownMemory.length > 0) {
    const mine = !outsideOwnMemory(strtab, x);
    // The adoption series keeps the old table only on an SMMU not in service-failure mode; one in SFM with
    // an old table base is neither the mainline reset nor an adoption we can vouch for.
    if (!mine && reg && sfmActive(reg)) return { ...facts, outcome: 'unknown', basis: `STRTAB_BASE=${hexAddress(strtab)} lies outside this kernel's memory, but GERROR.SFM_ERR is active (service-failure mode): the old table is not adopted on such an SMMU, so what serves stale DMA is not established` };
    if (!mine) return { ...facts, outcome: 'adopted', basis: `STRTAB_BASE=${hexAddress(strtab)} lies outside this kernel's memory: the crashed kernel's stream table is in use` };
    if (v.before === true) return { ...facts, outcome: 'aborted', basis: `STRTAB_BASE=${hexAddress(strtab)} is in this kernel's memory: a fresh stream table; stale DMA was aborted (GBPA=ABORT during the reset, abort STEs after)` };
  }
  if (v.managed === true && v.before === true) {
    const reset = (x.kmsg?.smmu.resets ?? 0) > 0;
    return { ...facts, outcome: reset ? 'aborted' : 'unknown', basis: reset ? '"SMMU currently enabled! Resetting..." and the driver runs it: mainline reset, stale DMA aborted' : 'the driver runs the SMMU but neither the reset message nor the stream table address tells whether it reset or adopted' };
  }
  return facts;
}

/** STRTAB_BASE outside every range of this kernel's memory (false when that memory is not known). */
function outsideOwnMemory(addr: bigint, x: ArmInputs): boolean {
  if (!x.ownMemory || x.ownMemory.length === 0) return false;
  return !x.ownMemory.some((r) => addr >= r.start && addr <= r.end);
}

/** GERROR.SFM_ERR active: an SMMUv3 global error is active while its bits in GERROR and GERRORN differ. */
function sfmActive(reg: RegisterValues): boolean {
  return (((reg.gerror ?? 0) ^ (reg.gerrorn ?? 0)) & SMMUV3.SFM_ERR) !== 0;
}

/** This kernel's memory: arm64 capture kernels get `linux,usable-memory-range` in /chosen (two cells each). */
export function parseUsableMemory(b: Buffer): { start: bigint; end: bigint }[] {
  const out: { start: bigint; end: bigint }[] = [];
  for (let i = 0; i + 16 <= b.length; i += 16) {
    const start = b.readBigUInt64BE(i);
    out.push({ start, end: start + b.readBigUInt64BE(i + 8) - 1n });
  }
  return out;
}

/** proc/iomem "System RAM" ranges (top level). */
export function parseIomemRam(text: string): { start: bigint; end: bigint }[] {
  const out: { start: bigint; end: bigint }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) : System RAM$/i.exec(line);
    if (m) out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`) });
  }
  return out;
}

export type { Claim };
