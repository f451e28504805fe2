import type { Evidence } from './iommu-report.js';
import type { Claim, Field, Strength, VerdictInput } from './verdict.js';
import type { UnitRecord } from './units.js';
import type { SysfsIommuState } from './sysfs-units.js';
import type { LogFacts } from './kmsg/parse-log.js';
import { disablesDriver, type IommuOptions } from './cmdline.js';
import { AMDVI, VTD, type RegisterValues } from './registers.js';
import { hexAddress } from './acpi/bytes.js';
import { smmuClaims } from './arm/smmu-claims.js';

export interface ClaimInputs {
  captureKernel: boolean;
  units: UnitRecord[];
  sysfs: SysfsIommuState;
  /** This kernel's log. */
  kmsg: LogFacts | null;
  /** The crashed kernel's log (vmcore-dmesg or --old-log). */
  oldLog: LogFacts | null;
  optionsNow: IommuOptions;
  optionsBefore: IommuOptions | null;
  registers: RegisterValues[];
  kernelRelease: string | null;
  /** DMA faults per unit in each log (devices mapped to their unit). */
  faultsNow: Map<string, number>;
  faultsBefore: Map<string, number>;
  /** Intel units whose scopes hold only display functions (ignored by the driver under igfx_off). */
  graphicsOnly: Set<string>;
  /** This kernel's /proc/cmdline, to check that the log read is this boot's. */
  cmdlineNow: string | null;
  /** This kernel's memory ranges (ARM: an SMMU stream table outside them was adopted from the crashed kernel). */
  ownMemory?: { start: bigint; end: bigint }[] | null;
}

/**
 * Turn what was read into claims about each unit. Each rule below names the kernel code path that
 * makes it true; rules that rely on a message being absent need a log that reaches back to boot.
 */
export interface GatheredClaims extends Pick<VerdictInput, 'claims' | 'untouched'> {
  evidence: Evidence[];
  /** Facts that forbid a verdict (a log from another boot, SNP with a copied table, commands timing out). */
  blockers: string[];
  /** Per unit, findings that do not change its case but matter (a window with translation off, SNP). */
  notes: Map<string, string[]>;
  /** Per unit: whether the old tables are in use by the hardware (`reused`), were copied, or not taken over. */
  oldTables: Map<string, 'reused' | 'copied' | 'not-copied'>;
  /** Per unit: AMD EFR bit 63 (SNP supported by the IOMMU), null when not read. */
  snp: Map<string, boolean>;
}

export function gatherClaims(x: ClaimInputs): GatheredClaims {
  const claims: Claim[] = [];
  const untouched: VerdictInput['untouched'] = [];
  const evidence: Evidence[] = [];
  const blockers: string[] = [];
  const notes = new Map<string, string[]>();
  const oldTables = new Map<string, 'reused' | 'copied' | 'not-copied'>();
  const snp = new Map<string, boolean>();
  const out: Out = { blockers, notes, oldTables, snp, evidence };
  const claim = (unit: string, field: Field, value: boolean, strength: Strength, source: string, fact: string, absence = false): void => {
    claims.push({ unit, field, value, strength, source, fact, ...(absence ? { absence: true } : {}) });
  };
  logFromAnotherBoot(x, out);
  const disablesAt419 = atLeast(x.kernelRelease, 4, 19);

  const armUnits = x.units.filter((u) => u.vendor === 'arm').length;
  for (const u of x.units) {
    if (u.vendor === 'other') continue;
    if (u.vendor === 'arm') {
      smmuClaims(
        u,
        { captureKernel: x.captureKernel, classPresent: x.sysfs.classPresent, kmsg: x.kmsg, oldLog: x.oldLog, registers: x.registers, ownMemory: x.ownMemory ?? null, armUnits },
        claim,
        untouched,
        (t) => note(out, u.name, t),
      );
      continue;
    }
    const reg = x.registers.find((r) => r.unit === u.name);
    const inSysfs = u.sysfs !== null;
    const regSource = reg ? `${reg.source === 'debugfs' ? 'debugfs' : 'mmio'}:${u.name}` : '';

    // managed: the kernel registers every unit its driver runs in /sys/class/iommu (since 3.17).
    if (inSysfs) claim(u.name, 'managed', true, 'measured', `sysfs:${u.name}`, 'registered in /sys/class/iommu by this kernel\'s driver');
    else if (x.sysfs.classPresent) claim(u.name, 'managed', false, 'inferred', 'sysfs:iommu', `${u.name} is not in /sys/class/iommu: this kernel's driver does not run it`);

    // now, from the hardware.
    if (reg && u.vendor === 'intel' && reg.gsts !== undefined) {
      const tes = (reg.gsts & VTD.TES) !== 0;
      claim(u.name, 'now', tes, 'measured', regSource, `GSTS=0x${reg.gsts.toString(16).padStart(8, '0')} (TES=${tes ? 1 : 0}, IRES=${reg.gsts & VTD.IRES ? 1 : 0}, RTPS=${reg.gsts & VTD.RTPS ? 1 : 0})`);
      if (reg.rtaddr !== undefined && reg.rtaddr !== 0n) {
        evidence.push({ source: regSource, fact: `RTADDR=${hexAddress(reg.rtaddr)}${reg.rtaddr & VTD.RTADDR_SMT ? ' (scalable mode)' : ''}: a root table was set${inSysfs ? '' : ' — not by this kernel\'s driver, which does not run the unit'}` });
      }
      if (tes && !inSysfs && x.sysfs.classPresent && x.captureKernel) {
        claim(u.name, 'before', true, 'inferred', regSource, 'translation is on although this kernel\'s driver does not run the unit: the crashed kernel left it on');
      }
      // SRTP is the only way to load RTADDR and no kernel path clears it (intel_disable_iommus() clears only
      // TE): a zero root table address with RTPS clear on a unit this kernel's driver never ran means no
      // kernel since the platform reset set a root table, so translation was never on (GCMD.TE needs one).
      if (!tes && reg.rtaddr === 0n && (reg.gsts & VTD.RTPS) === 0 && !inSysfs && x.sysfs.classPresent && x.captureKernel) {
        claim(u.name, 'before', false, 'measured', regSource, `RTADDR=0 and GSTS.RTPS=0 on a unit this kernel's driver does not run: no root table was ever set, the crashed kernel never enabled translation`);
      }
    }
    if (reg && u.vendor === 'amd' && reg.control !== undefined) {
      const en = (reg.control & AMDVI.IOMMU_EN) !== 0n;
      claim(u.name, 'now', en, 'measured', regSource, `control register=${hexAddress(reg.control)} (IommuEn=${en ? 1 : 0})`);
      if (en && !inSysfs && x.sysfs.classPresent && x.captureKernel) {
        claim(u.name, 'before', true, 'inferred', regSource, 'IommuEn is set although this kernel\'s driver does not run the unit: the crashed kernel left it on');
      }
      // The driver writes the device table base before it sets IommuEn (early_enable_iommu() calls
      // iommu_set_device_table(), amd/init.c:2885); zero on a unit nobody here ran: never programmed.
      if (!en && reg.devTable === 0n && !inSysfs && x.sysfs.classPresent && x.captureKernel) {
        claim(u.name, 'before', false, 'measured', regSource, 'device table base=0 and IommuEn=0 on a unit this kernel\'s driver does not run: no kernel ever set the unit up');
      }
    }

    // now, from the driver's state: both drivers switch translation on for every unit they run
    // (intel_iommu_init() ends with iommu_enable_translation(); AMD early_enable_iommus()).
    if (inSysfs) claim(u.name, 'now', true, 'inferred', `sysfs:${u.name}`, 'the driver runs the unit and enables translation on every unit it runs');

    if (u.vendor === 'intel') intelLogClaims(u, x, claim, disablesAt419, out);
    else amdLogClaims(u, x, claim, untouched, out);

    // Faults in this kernel while its driver does not run the unit: translation was on, left by the crashed kernel.
    const fNow = x.faultsNow.get(u.name) ?? 0;
    if (fNow > 0 && x.captureKernel && !inSysfs && x.sysfs.classPresent) {
      claim(u.name, 'before', true, 'inferred', 'kmsg', `${fNow} DMA fault(s) logged behind ${u.name} although this kernel's driver does not run it: translation was left on`);
    }
    const fBefore = x.faultsBefore.get(u.name) ?? 0;
    if (fBefore > 0 && x.oldLog) {
      claim(u.name, 'before', true, 'logged', x.oldLog.source, `${fBefore} DMA fault(s) behind ${u.name} in the crashed kernel's log: translation was on there`);
    }
  }
  return { claims, untouched, evidence, blockers, notes, oldTables, snp };
}

type ClaimFn = (unit: string, field: Field, value: boolean, strength: Strength, source: string, fact: string, absence?: boolean) => void;

interface Out {
  blockers: string[];
  notes: Map<string, string[]>;
  oldTables: Map<string, 'reused' | 'copied' | 'not-copied'>;
  snp: Map<string, boolean>;
  evidence: Evidence[];
}

function note(out: Out, unit: string, text: string): void {
  const list = out.notes.get(unit) ?? [];
  if (!list.includes(text)) list.push(text);
  out.notes.set(unit, list);
}

/**
 * "Translation was enabled for %s but we are not in kdump mode" is printed only when !is_kdump_kernel()
 * (Intel init_dmars(), drivers/iommu/intel/iommu.c:2124; AMD init_iommu_one_late(), drivers/iommu/amd/init.c:1964,
 * Linux 6.18.19; the same in 6.1 and 6.12): in a capture kernel's log it means the log is from another boot.
 * So is a log whose "Command line:" is not this kernel's /proc/cmdline.
 */
function logFromAnotherBoot(x: ClaimInputs, out: Out): void {
  const k = x.kmsg;
  if (!k || !x.captureKernel) return;
  const named = [...k.intel.preEnabledNotKdump, ...[...k.amd.preEnabledNotKdump].map((u) => `IOMMU:${u.slice(4)}`)];
  if (named.length) {
    out.blockers.push(`${k.source}: "Translation was enabled for ${named.join(', ')} but we are not in kdump mode" is printed only outside a crash kernel (init_dmars() / init_iommu_one_late() check !is_kdump_kernel()): this log is from another boot`);
  }
  if (x.cmdlineNow !== null && k.cmdlines.length > 0 && !k.cmdlines.some((c) => sameCmdline(c, x.cmdlineNow!))) {
    out.blockers.push(`${k.source}: its "Command line: ${k.cmdlines[0]!.slice(0, 160)}" is not this kernel's /proc/cmdline: the log is from another boot`);
  }
  const o = x.oldLog;
  if (o && x.cmdlineNow !== null && o.cmdlines.some((c) => sameCmdline(c, x.cmdlineNow!))) {
    out.blockers.push(`${o.source}: its command line is this kernel's own /proc/cmdline: it is not the crashed kernel's log`);
  }
}

/** Word-for-word equal; a log line cut at printk's line limit (~1000 characters) compares as a prefix. */
export function sameCmdline(logged: string, proc: string): boolean {
  const a = logged.trim().split(/\s+/).join(' ');
  const b = proc.replace(/\0/g, ' ').trim().split(/\s+/).join(' ');
  if (a === b) return true;
  return a.length >= 900 && b.startsWith(a.slice(0, a.lastIndexOf(' ')));
}

function intelLogClaims(u: UnitRecord, x: ClaimInputs, claim: ClaimFn, disables: boolean | null, out: Out): void {
  const k = x.kmsg;
  const inSysfs = u.sysfs !== null;
  if (k && x.captureKernel) {
    const src = k.source;
    const badBuses = k.intel.contextCopyFailed.get(u.name) ?? [];
    if (k.intel.copied.has(u.name)) {
      const fact = `"Copied translation tables from previous kernel for ${u.name}"`;
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'now', true, 'logged', src, `${fact}: translation left on, never re-enabled`);
      claim(u.name, 'copied', true, 'logged', src, fact);
      claim(u.name, 'managed', true, 'logged', src, fact);
      out.oldTables.set(u.name, 'copied');
      if (badBuses.length) {
        note(out, u.name, `"Failed to copy context table for bus ${badBuses.join(', ')}" before ${fact}: functions on ${badBuses.length === 1 ? 'that bus' : 'those buses'} have no copied context entries, their DMA faults from the start (copy_translation_tables(), intel/iommu.c:2055)`);
      }
    }
    if (k.intel.copyFailed.has(u.name)) {
      const fact = `"Failed to copy translation tables from previous kernel for ${u.name}"`;
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'copied', false, 'logged', src, `${fact}: disabled, then restarted with empty tables`);
      claim(u.name, 'managed', true, 'logged', src, fact);
      out.oldTables.set(u.name, 'not-copied');
      if (k.intel.remappingOn) claim(u.name, 'now', true, 'logged', src, `${fact}, then "Intel(R) Virtualization Technology for Directed I/O": translation re-enabled with new tables`);
      // init_dmars() calls iommu_disable_translation() after a failed copy and the unit translates again
      // only once intel_iommu_init() enables it: in between stray DMA reached raw memory.
      const smBefore = smMode(x.optionsBefore);
      const smNow = smMode(x.optionsNow);
      const why = smBefore !== null && smNow !== null && smBefore !== smNow
        ? `scalable mode ${smBefore ? 'on' : 'off'} in the crashed kernel, ${smNow ? 'on' : 'off'} here: copy_translation_tables() returns -EINVAL when RTADDR's SMT bit differs (intel/iommu.c:2029)`
        : 'copy_translation_tables() failed (a scalable-mode mismatch of RTADDR.SMT, intel/iommu.c:2029, or no memory)';
      note(out, u.name, `translation was off for a window during boot: ${why}; init_dmars() disabled translation and it stayed off until the driver re-enabled it with empty tables, so stray DMA in that window reached raw memory`);
    }
    const handled = k.intel.copied.has(u.name) || k.intel.copyFailed.has(u.name);
    // init_dmars() runs init_translation_status() on every active unit and prints "Translation already
    // enabled…" for each one left on (intel/iommu.c:2138, 4.x–6.18); a complete log of a driver that ran the
    // unit without it suggests off. Absence only: good for case 2 against 4, never for case 1.
    if (!handled && k.complete && k.intel.remappingOn && inSysfs) {
      claim(u.name, 'before', false, 'logged', src, `the driver initialised ${u.name} (log complete from boot) without "Translation already enabled": the crashed kernel had it off`, true);
      claim(u.name, 'copied', false, 'logged', src, 'nothing to copy', true);
    }
    const off = disablesDriver(x.optionsNow, 'intel') || k.intel.cmdline === 'off';
    const defaultOff = k.complete && !k.intel.remappingOn && !k.intel.initFailed && k.intel.drhdBases.length > 0 && x.optionsNow.intel !== 'on';
    if (!inSysfs && (off || defaultOff)) {
      const why = off ? `${x.optionsNow.words.filter((w) => /^(intel_iommu|iommu)=/.test(w)).join(' ') || 'intel_iommu=off'}` : 'DMA remapping not enabled (kernel default off, no intel_iommu=on)';
      claim(u.name, 'managed', false, 'inferred', 'proc/cmdline', `${why}: the driver does not run the unit`, !off);
      claim(u.name, 'copied', false, 'inferred', 'proc/cmdline', `${why}: nothing copied`, !off);
      // intel_iommu_init() switches every unit off on this path "even when we boot into a kexec kernel";
      // that code is in every kernel from 4.19 on (older ones were not checked, so no claim for them).
      if (disables === true) {
        claim(u.name, 'now', false, 'inferred', 'proc/cmdline', `${why}: intel_iommu_init() calls intel_disable_iommus() on this path, even after kexec (kernel ${x.kernelRelease})`, !off);
      }
    }
  }
  const o = x.oldLog;
  if (o && x.captureKernel) {
    const src = o.source;
    const oldOff = (x.optionsBefore && disablesDriver(x.optionsBefore, 'intel')) || o.intel.cmdline === 'off';
    const igfxOff = x.optionsBefore?.intelFlags.includes('igfx_off') ?? false;
    if (oldOff) {
      claim(u.name, 'before', false, 'logged', src, `the crashed kernel ran with ${x.optionsBefore?.words.join(' ') || 'intel_iommu=off'}`);
    } else if (o.intel.remappingOn) {
      if (igfxOff && x.graphicsOnly.has(u.name)) {
        claim(u.name, 'before', false, 'inferred', src, `intel_iommu=igfx_off in the crashed kernel: ${u.name} serves only graphics and was ignored`);
      } else {
        claim(u.name, 'before', true, 'logged', src, 'the crashed kernel initialised VT-d DMA remapping ("Intel(R) Virtualization Technology for Directed I/O")');
      }
    } else if (o.complete && o.intel.drhdBases.length > 0 && !o.intel.initFailed) {
      claim(u.name, 'before', false, 'logged', src, 'the crashed kernel\'s log, complete from boot, parsed the DMAR table but never printed "Intel(R) Virtualization Technology for Directed I/O"', true);
    } else if (o.complete && o.intel.initFailed) {
      claim(u.name, 'before', false, 'logged', src, 'the crashed kernel logged a failed VT-d initialisation');
    }
  }
}

/** `intel_iommu=sm_on|sm_off`: the scalable-mode choice of a command line, null when not given. */
function smMode(o: IommuOptions | null): boolean | null {
  if (!o) return null;
  let v: boolean | null = null;
  for (const f of o.intelFlags) {
    if (f === 'sm_on') v = true;
    else if (f === 'sm_off') v = false;
  }
  return v;
}

/** EFR bit 63, FEATURE_SNP (drivers/iommu/amd/amd_iommu_types.h:106). */
const EFR_SNP = 1n << 63n;

function amdLogClaims(u: UnitRecord, x: ClaimInputs, claim: ClaimFn, untouched: VerdictInput['untouched'], out: Out): void {
  const k = x.kmsg;
  const inSysfs = u.sysfs !== null;
  const amdUnits = x.units.filter((v) => v.vendor === 'amd').length;
  const index = Number(u.name.replace(/^ivhd/, ''));
  // SNP: the IOMMU's EFR bit 63 (registers, sysfs `features`, the " SNP" of "Extended features"), or the
  // kernel's "IOMMU SNP support enabled" / "Re-using CWB buffers" (printed only when FEATURE_SNP is set).
  const snpWhy: string[] = [];
  const reg = x.registers.find((r) => r.unit === u.name);
  if (reg?.extFeatures !== undefined && (reg.extFeatures & EFR_SNP) !== 0n) snpWhy.push(`EFR=${hexAddress(reg.extFeatures)} bit 63 (registers)`);
  const sysEfr = u.sysfs?.features ? /^([0-9a-f]+)/i.exec(u.sysfs.features.replace(/^0x/i, '')) : null;
  if (sysEfr && (BigInt(`0x${sysEfr[1]}`) & EFR_SNP) !== 0n) snpWhy.push(`amd-iommu/features ${u.sysfs!.features} bit 63`);
  for (const log of [k, x.oldLog]) {
    if (!log) continue;
    if (log.amd.efr.some((e) => e.snp || (e.efr & EFR_SNP) !== 0n)) snpWhy.push(`${log.source}: "Extended features (…) … SNP"`);
    if (log.amd.snpEnabled) snpWhy.push(`${log.source}: "IOMMU SNP support enabled"`);
    if (log.amd.reusing.has('CWB buffers')) snpWhy.push(`${log.source}: "Re-using CWB buffers from the previous kernel" (printed only with FEATURE_SNP)`);
  }
  if (snpWhy.length) {
    out.snp.set(u.name, true);
    note(out, u.name, `SEV-SNP capable IOMMU (${snpWhy.join('; ')}): with SNP the device table base register is locked, the hardware keeps using the crashed kernel's device table`);
  } else if (reg?.extFeatures !== undefined || sysEfr) out.snp.set(u.name, false);

  if (k && x.captureKernel) {
    const src = k.source;
    // AMD copies (6.18: reuses) the device table for all units or none, so these messages are global.
    if (k.amd.copied === true) {
      const reused = k.amd.tableVerb === 'reused';
      const fact = reused ? '"Reused DEV table from previous kernel"' : '"Copied DEV table from previous kernel"';
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'now', true, 'logged', src, `${fact}: the units keep translating through the ${reused ? 'old' : 'copied'} device table`);
      claim(u.name, 'copied', true, 'logged', src, fact);
      claim(u.name, 'managed', true, 'logged', src, fact);
      out.oldTables.set(u.name, reused ? 'reused' : 'copied');
      // Before 38e5f33ee359 ("iommu/amd: Reuse device table for kdump", 6.18, 6.17.y) the kernel copied the
      // table to new memory and pointed the device table base at it; with SNP that register is locked, the
      // copy is never used and the commands for it time out.
      if (!reused && snpWhy.length) {
        out.blockers.push(`${u.name}: "Copied DEV table" (a kernel before 38e5f33ee359) on an SNP-capable IOMMU: the device table base register is locked under SNP, the hardware never used the copy; which table translates now is not known`);
      }
    } else if (k.amd.copied === false) {
      const fact = `"Failed to ${k.amd.copyAttempt ? 'copy/reuse' : 'copy'} DEV table from previous kernel"`;
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'copied', false, 'logged', src, `${fact}: units re-enabled with a fresh table`);
      claim(u.name, 'managed', true, 'logged', src, fact);
      out.oldTables.set(u.name, 'not-copied');
      note(out, u.name, 'translation was off for a window during boot: early_enable_iommus() disables each unit and enables it again with a fresh device table (amd/init.c:2918)');
    } else if (k.amd.copyAttempt) {
      claim(u.name, 'before', true, 'logged', src, '"Translation is already enabled - trying to copy/reuse translation structures"');
    }
    if (k.amd.completionWaitTimeouts > 0) {
      out.blockers.push(`${src}: ${k.amd.completionWaitTimeouts} "Completion-Wait loop timed out": the IOMMU does not complete this kernel's commands (with SNP: it still uses the old device table); its state is not known`);
    }
    const ran = inSysfs || k.amd.found.length > 0 || k.amd.efr.length > 0;
    if (k.complete && ran && k.amd.copied === null && !k.amd.copyAttempt) {
      // init_iommu_one_late() ANDs amd_iommu_pre_enabled over every unit (amd/init.c:1969) and
      // reuse_device_table() prints only when all were on: with one unit the absence means that unit
      // was off; with several it means only that at least one was.
      if (amdUnits === 1) {
        claim(u.name, 'before', false, 'logged', src, 'AMD-Vi initialised its only unit (log complete from boot) without "Translation is already enabled": the crashed kernel had it off', true);
        claim(u.name, 'copied', false, 'logged', src, 'nothing to copy', true);
      } else {
        claim(u.name, 'copied', false, 'logged', src, 'no "Translation is already enabled": the driver copies only when every unit was left on', true);
        note(out, u.name, `no "Translation is already enabled" with ${amdUnits} units: at least one was off in the crashed kernel (amd_iommu_pre_enabled is ANDed over all units, amd/init.c:1969); whether ${u.name} was is not known, and the units were restarted with fresh tables`);
      }
    }
    if (!inSysfs && disablesDriver(x.optionsNow, 'amd')) {
      const why = x.optionsNow.words.filter((w) => /^(amd_iommu|iommu)=/.test(w)).join(' ');
      claim(u.name, 'managed', false, 'inferred', 'proc/cmdline', `${why}: the driver does not run the unit`);
      claim(u.name, 'copied', false, 'inferred', 'proc/cmdline', `${why}: nothing copied`);
      untouched.push({
        unit: u.name,
        source: 'proc/cmdline',
        fact: `${why}: the AMD driver stops at IVRS detection, before it maps any unit (state_next(): IOMMU_IVRS_DETECTED → IOMMU_CMDLINE_DISABLED, amd/init.c:3410), nothing clears IommuEn`,
      });
    }
  }
  const o = x.oldLog;
  if (o && x.captureKernel) {
    const src = o.source;
    const oldOff = (x.optionsBefore && disablesDriver(x.optionsBefore, 'amd')) ?? false;
    // Each of these is printed only after early_enable_iommus() set IommuEn on every unit: "Found IOMMU
    // cap" (6.1 and older, per unit), "Extended features (…)" and "Interrupt remapping enabled"
    // (print_iommu_info(), from amd_iommu_init_pci(): 6.1, 6.12, 6.18), perf/amd_iommu "Detected AMD IOMMU
    // #N" (per unit), "IOMMU SNP support enabled" (iommu_snp_enable(), in the IOMMU_ENABLED state).
    // Their absence proves nothing: the wording changed between versions (mainline dropped "Found IOMMU").
    const on: string[] = [];
    if (o.amd.found.length > 0 && (!u.ivhd || o.amd.found.includes(u.ivhd.iommuBdf) || o.amd.found.includes(null))) on.push('"Found IOMMU … cap …"');
    if (o.amd.efr.length > 0) on.push('"AMD-Vi: Extended features (…)"');
    if (o.amd.perfUnits.includes(index)) on.push(`"perf/amd_iommu: Detected AMD IOMMU #${index}"`);
    if (o.amd.irEnabled) on.push('"AMD-Vi: Interrupt remapping enabled"');
    if (o.amd.snpEnabled) on.push('"IOMMU SNP support enabled"');
    if (oldOff) claim(u.name, 'before', false, 'logged', src, `the crashed kernel ran with ${x.optionsBefore?.words.join(' ')}`);
    else if (on.length) claim(u.name, 'before', true, 'logged', src, `the crashed kernel enabled AMD-Vi: ${on.join(', ')} (printed only once early_enable_iommus() set IommuEn on every unit)`);
  }
}

/** Is a release string like `6.1.0-26-amd64` at least major.minor? null when unparsable. */
export function atLeast(release: string | null, major: number, minor: number): boolean | null {
  const m = release ? /^(\d+)\.(\d+)/.exec(release) : null;
  if (!m) return null;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
