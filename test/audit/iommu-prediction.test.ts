import { describe, expect, it } from 'vitest';
import { emptyIommuReport } from '../../src/iommu/assess.js';
import type { IommuReport, IommuUnit } from '../../src/iommu/iommu-report.js';
import { predictCaptureIommu } from '../../src/audit/iommu-prediction.js';
import type { CmdlineWord } from '../../src/audit/kdump-config/kdump-setup.js';

function unit(name: string, vendor: 'intel' | 'amd', on: boolean): IommuUnit {
  return {
    name, vendor, registerBase: null, translationEnabledNow: on, translationEnabledBefore: null, tablesCopied: null, managedNow: on, case: 'unknown', segment: 0, pciFunction: null,
    includesAll: true, knownFrom: ['sysfs'], registers: null, irqRemapNow: null, basis: { now: null, before: null, tablesCopied: null, managed: null },
  };
}

function live(units: IommuUnit[]): IommuReport {
  const on = units.some((u) => u.translationEnabledNow);
  return { ...emptyIommuReport(), units, prediction: on ? { case: '4', basis: 'translation is on here' } : { case: '1', basis: 'off' } };
}

const w = (text: string, from: string): CmdlineWord[] => text.split(' ').map((word) => ({ word, from }));
const where = { append: 'KDUMP_CMDLINE_APPEND in /etc/default/kdump-tools', remove: 'KDUMP_CMDLINE in /etc/default/kdump-tools' };

describe('IOMMU case predicted for the capture kernel', () => {
  it('AMD-Vi on now + amd_iommu=off appended: 3a, a finding naming the setting and the QEMU observation', () => {
    const p = predictCaptureIommu(live([unit('ivhd0', 'amd', true)]), [...w('ro quiet', 'proc/cmdline'), ...w('reset_devices amd_iommu=off', 'etc/default/kdump-tools KDUMP_CMDLINE_APPEND')], where);
    expect(p.predicted).toBe('3a');
    expect(p.finding).toMatch(/^predicted IOMMU case 3a: amd_iommu=off on the kdump command line/);
    expect(p.finding).toMatch(/reached \/init and then hung/);
    expect(p.finding).toMatch(/remove `amd_iommu=off` from KDUMP_CMDLINE_APPEND in \/etc\/default\/kdump-tools/);
    expect(p.words.map((x) => x.word)).toEqual(['amd_iommu=off']);
  });

  it('VT-d on now + intel_iommu=off inherited from /proc/cmdline: 3b, told where to drop it', () => {
    const p = predictCaptureIommu(live([unit('dmar0', 'intel', true)]), [...w('ro intel_iommu=off', 'proc/cmdline'), ...w('reset_devices', 'kdump-config default KDUMP_CMDLINE_APPEND')], where);
    expect(p.predicted).toBe('3b');
    expect(p.finding).toMatch(/inherited from this kernel's command line: remove it there, or drop it through KDUMP_CMDLINE in \/etc\/default\/kdump-tools/);
  });

  it('a later intel_iommu=on wins over an earlier off (left to right, as the kernel parses)', () => {
    const p = predictCaptureIommu(live([unit('dmar0', 'intel', true)]), w('intel_iommu=off intel_iommu=on', 'proc/cmdline'), where);
    expect(p.predicted).toBe('4');
    expect(p.finding).toBeNull();
  });

  it('iommu=off switches either vendor off; off now + intel_iommu=on predicts case 2', () => {
    expect(predictCaptureIommu(live([unit('ivhd0', 'amd', true)]), w('iommu=off', 'x'), where).predicted).toBe('3a');
    expect(predictCaptureIommu(live([unit('dmar0', 'intel', false)]), w('intel_iommu=on', 'x'), where).predicted).toBe('2');
    expect(predictCaptureIommu(live([unit('dmar0', 'intel', false)]), w('amd_iommu=off', 'x'), where).predicted).toBe('1');
  });

  it('unknown state now: unknown, and no finding invented', () => {
    const p = predictCaptureIommu({ ...emptyIommuReport() }, w('amd_iommu=off', 'x'), where);
    expect(p.predicted).toBe('unknown');
    expect(p.finding).toBeNull();
  });
});
