import type { Evidence } from './iommu-report.js';
import type { Claim, Field, Strength, VerdictInput } from './verdict.js';
import type { UnitRecord } from './units.js';
import type { SysfsIommuState } from './sysfs-units.js';
import type { LogFacts } from './kmsg/parse-log.js';
import { disablesDriver, type IommuOptions } from './cmdline.js';
import { AMDVI, VTD, type RegisterValues } from './registers.js';
import { hexAddress } from './acpi/bytes.js';

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
}

/**
 * Turn what was read into claims about each unit. Each rule below names the kernel code path that
 * makes it true; rules that rely on a message being absent need a log that reaches back to boot.
 */
export function gatherClaims(x: ClaimInputs): Pick<VerdictInput, 'claims' | 'untouched'> & { evidence: Evidence[] } {
  const claims: Claim[] = [];
  const untouched: VerdictInput['untouched'] = [];
  const evidence: Evidence[] = [];
  const claim = (unit: string, field: Field, value: boolean, strength: Strength, source: string, fact: string): void => {
    claims.push({ unit, field, value, strength, source, fact });
  };
  const disablesAt419 = atLeast(x.kernelRelease, 4, 19);

  for (const u of x.units) {
    if (u.vendor === 'other') continue;
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
    }
    if (reg && u.vendor === 'amd' && reg.control !== undefined) {
      const en = (reg.control & AMDVI.IOMMU_EN) !== 0n;
      claim(u.name, 'now', en, 'measured', regSource, `control register=${hexAddress(reg.control)} (IommuEn=${en ? 1 : 0})`);
      if (en && !inSysfs && x.sysfs.classPresent && x.captureKernel) {
        claim(u.name, 'before', true, 'inferred', regSource, 'IommuEn is set although this kernel\'s driver does not run the unit: the crashed kernel left it on');
      }
    }

    // now, from the driver's state: both drivers switch translation on for every unit they run
    // (intel_iommu_init() ends with iommu_enable_translation(); AMD early_enable_iommus()).
    if (inSysfs) claim(u.name, 'now', true, 'inferred', `sysfs:${u.name}`, 'the driver runs the unit and enables translation on every unit it runs');

    if (u.vendor === 'intel') intelLogClaims(u, x, claim, disablesAt419);
    else amdLogClaims(u, x, claim, untouched);

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
  return { claims, untouched, evidence };
}

type ClaimFn = (unit: string, field: Field, value: boolean, strength: Strength, source: string, fact: string) => void;

function intelLogClaims(u: UnitRecord, x: ClaimInputs, claim: ClaimFn, disables: boolean | null): void {
  const k = x.kmsg;
  const inSysfs = u.sysfs !== null;
  if (k && x.captureKernel) {
    const src = k.source;
    if (k.intel.copied.has(u.name)) {
      const fact = `"Copied translation tables from previous kernel for ${u.name}"`;
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'now', true, 'logged', src, `${fact}: translation left on, never re-enabled`);
      claim(u.name, 'copied', true, 'logged', src, fact);
      claim(u.name, 'managed', true, 'logged', src, fact);
    }
    if (k.intel.copyFailed.has(u.name)) {
      const fact = `"Failed to copy translation tables from previous kernel for ${u.name}"`;
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'copied', false, 'logged', src, `${fact}: disabled, then restarted with empty tables`);
      claim(u.name, 'managed', true, 'logged', src, fact);
      if (k.intel.remappingOn) claim(u.name, 'now', true, 'logged', src, `${fact}, then "Intel(R) Virtualization Technology for Directed I/O": translation re-enabled with new tables`);
    }
    if (k.intel.preEnabledNotKdump.has(u.name)) {
      claim(u.name, 'before', true, 'logged', src, `"Translation was enabled for ${u.name} but we are not in kdump mode" (the kernel disabled it: it does not see itself as a crash kernel)`);
      claim(u.name, 'copied', false, 'logged', src, 'the kernel does not copy tables outside kdump');
    }
    const handled = k.intel.copied.has(u.name) || k.intel.copyFailed.has(u.name) || k.intel.preEnabledNotKdump.has(u.name);
    // init_dmars() runs init_translation_status() on every active unit and prints "Translation already
    // enabled…" for each one left on; a complete log of a driver that ran the unit without it means off.
    if (!handled && k.complete && k.intel.remappingOn && inSysfs) {
      claim(u.name, 'before', false, 'logged', src, `the driver initialised ${u.name} (log complete from boot) without "Translation already enabled": the crashed kernel had it off`);
      claim(u.name, 'copied', false, 'logged', src, 'nothing to copy');
    }
    const off = disablesDriver(x.optionsNow, 'intel') || k.intel.cmdline === 'off';
    const defaultOff = k.complete && !k.intel.remappingOn && !k.intel.initFailed && k.intel.drhdBases.length > 0 && x.optionsNow.intel !== 'on';
    if (!inSysfs && (off || defaultOff)) {
      const why = off ? `${x.optionsNow.words.filter((w) => /^(intel_iommu|iommu)=/.test(w)).join(' ') || 'intel_iommu=off'}` : 'DMA remapping not enabled (kernel default off, no intel_iommu=on)';
      claim(u.name, 'managed', false, 'inferred', 'proc/cmdline', `${why}: the driver does not run the unit`);
      claim(u.name, 'copied', false, 'inferred', 'proc/cmdline', `${why}: nothing copied`);
      // intel_iommu_init() switches every unit off on this path "even when we boot into a kexec kernel";
      // that code is in every kernel from 4.19 on (older ones were not checked, so no claim for them).
      if (disables === true) {
        claim(u.name, 'now', false, 'inferred', 'proc/cmdline', `${why}: intel_iommu_init() calls intel_disable_iommus() on this path, even after kexec (kernel ${x.kernelRelease})`);
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
      claim(u.name, 'before', false, 'logged', src, 'the crashed kernel\'s log, complete from boot, parsed the DMAR table but never enabled DMA remapping');
    } else if (o.complete && o.intel.initFailed) {
      claim(u.name, 'before', false, 'logged', src, 'the crashed kernel logged a failed VT-d initialisation');
    }
  }
}

function amdLogClaims(u: UnitRecord, x: ClaimInputs, claim: ClaimFn, untouched: VerdictInput['untouched']): void {
  const k = x.kmsg;
  const inSysfs = u.sysfs !== null;
  if (k && x.captureKernel) {
    const src = k.source;
    // AMD copies (6.18: reuses) the device table for all units or none, so these messages are global.
    if (k.amd.copied === true) {
      const fact = '"Copied/Reused DEV table from previous kernel"';
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'now', true, 'logged', src, `${fact}: the units keep translating through the old device table`);
      claim(u.name, 'copied', true, 'logged', src, fact);
      claim(u.name, 'managed', true, 'logged', src, fact);
    } else if (k.amd.copied === false) {
      const fact = '"Failed to copy/reuse DEV table from previous kernel"';
      claim(u.name, 'before', true, 'logged', src, fact);
      claim(u.name, 'copied', false, 'logged', src, `${fact}: units re-enabled with a fresh table`);
      claim(u.name, 'managed', true, 'logged', src, fact);
    } else if (k.amd.copyAttempt) {
      claim(u.name, 'before', true, 'logged', src, '"Translation is already enabled - trying to copy/reuse translation structures"');
    }
    if (k.amd.preEnabledNotKdump.has(u.name)) {
      claim(u.name, 'before', true, 'logged', src, `"Translation was enabled for IOMMU:${u.name.slice(4)} but we are not in kdump mode"`);
    }
    const ran = inSysfs || k.amd.found.length > 0;
    if (k.complete && ran && k.amd.copied === null && !k.amd.copyAttempt && !k.amd.preEnabledNotKdump.has(u.name)) {
      claim(u.name, 'before', false, 'logged', src, 'AMD-Vi initialised (log complete from boot) without "Translation is already enabled": the crashed kernel had it off (the driver copies only when every unit was left on)');
      claim(u.name, 'copied', false, 'logged', src, 'nothing to copy');
    }
    if (!inSysfs && disablesDriver(x.optionsNow, 'amd')) {
      const why = x.optionsNow.words.filter((w) => /^(amd_iommu|iommu)=/.test(w)).join(' ');
      claim(u.name, 'managed', false, 'inferred', 'proc/cmdline', `${why}: the driver does not run the unit`);
      claim(u.name, 'copied', false, 'inferred', 'proc/cmdline', `${why}: nothing copied`);
      untouched.push({
        unit: u.name,
        source: 'proc/cmdline',
        fact: `${why}: the AMD driver stops before it maps any unit (init.c state_next → IOMMU_CMDLINE_DISABLED), nothing clears IommuEn`,
      });
    }
  }
  const o = x.oldLog;
  if (o && x.captureKernel) {
    const src = o.source;
    const oldOff = (x.optionsBefore && disablesDriver(x.optionsBefore, 'amd')) ?? false;
    if (oldOff) claim(u.name, 'before', false, 'logged', src, `the crashed kernel ran with ${x.optionsBefore?.words.join(' ')}`);
    else if (o.amd.found.length > 0) {
      const mine = u.ivhd ? o.amd.found.includes(u.ivhd.iommuBdf) || o.amd.found.includes(null) : true;
      if (mine) claim(u.name, 'before', true, 'logged', src, 'the crashed kernel enabled AMD-Vi ("Found IOMMU … cap …" is printed once units are enabled)');
    } else if (o.complete) {
      claim(u.name, 'before', false, 'logged', src, 'the crashed kernel\'s log, complete from boot, never enabled AMD-Vi');
    }
  }
}

/** Is a release string like `6.1.0-26-amd64` at least major.minor? null when unparsable. */
export function atLeast(release: string | null, major: number, minor: number): boolean | null {
  const m = release ? /^(\d+)\.(\d+)/.exec(release) : null;
  if (!m) return null;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
