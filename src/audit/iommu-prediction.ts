/**
 * The IOMMU case a capture kernel will find, predicted from this kernel's evidence (the `iommu`
 * assessment, src/iommu) and the command line the kdump tooling will give it. A prediction, not a
 * measurement: it is marked as one everywhere it is shown.
 *
 * - Translation on now and the capture command line switches the vendor's driver off:
 *   Intel `intel_iommu=off` (or `iommu=off`): since 4.19 the capture kernel turns translation off
 *   (docs/iommu.md, case 3b): stray DMA reaches raw memory.
 *   AMD `amd_iommu=off` (or `iommu=off`): the unit stays on with nobody running it, case 3a. Observed
 *   under QEMU with Debian's 6.12 kernel: the capture kernel reached /init and then printed nothing
 *   more from userspace, its interrupts still going through the crashed kernel's remapping tables
 *   (issue #17), so no userspace step, the agent's included, can help.
 * - Translation off now and the capture command line turns Intel's driver on: case 2.
 * - Otherwise the `iommu` assessment's own prediction stands.
 */
import { disablesDriver, parseIommuOptions } from '../iommu/cmdline.js';
import type { IommuCase, IommuReport } from '../iommu/iommu-report.js';
import type { CmdlineWord } from './kdump-config/kdump-setup.js';

export interface IommuPrediction {
  /** The case measured now (a live system: `unknown`, there being no crash yet). */
  caseNow: IommuCase;
  /** Units with translation on now, by name. */
  translatingNow: string[];
  /** The predicted case in the capture kernel. */
  predicted: IommuCase;
  basis: string;
  /** IOMMU words of the capture command line, with where each comes from. */
  words: CmdlineWord[];
  /** A predicted 3a/3b: what to change; null when none. */
  finding: string | null;
}

const IOMMU_WORD = /^(intel_iommu|amd_iommu|iommu|iommu\.passthrough|iommu\.strict|intremap|nointremap)(=|$)/;

export function predictCaptureIommu(report: IommuReport, cmdline: CmdlineWord[] | null, where: { append: string | null; remove: string | null }): IommuPrediction {
  const translatingNow = report.units.filter((u) => u.translationEnabledNow === true).map((u) => u.name);
  const base = report.captureKernel ? { case: report.case, basis: 'measured: this is a capture kernel' } : report.prediction;
  const words = (cmdline ?? []).filter((w) => IOMMU_WORD.test(w.word));
  const out: IommuPrediction = {
    caseNow: report.case,
    translatingNow,
    predicted: base?.case ?? 'unknown',
    basis: base?.basis ?? 'not predictable: whether translation is on now is not established (`iommu` says what is missing)',
    words,
    finding: null,
  };
  if (report.captureKernel || cmdline === null) {
    if (cmdline === null && !report.captureKernel) out.basis += ' (the capture command line is unknown, so only the IOMMU state now is used)';
    return out;
  }
  const opts = parseIommuOptions(cmdline.map((w) => w.word).join(' '));
  const on = report.units.filter((u) => u.translationEnabledNow === true && u.vendor !== 'other');
  const off3a = on.filter((u) => u.vendor === 'amd' && disablesDriver(opts, 'amd'));
  const off3b = on.filter((u) => u.vendor === 'intel' && disablesDriver(opts, 'intel'));
  const culprit = (vendor: 'intel' | 'amd'): CmdlineWord | undefined =>
    [...words].reverse().find((w) => w.word === `${vendor}_iommu=off` || /^iommu=(.*,)?off(,|$)/.test(w.word) || (w.word.startsWith(`${vendor}_iommu=`) && w.word.split('=')[1]!.split(',').includes('off')));
  const advice = (w: CmdlineWord | undefined): string => {
    if (!w) return '';
    if (w.from === 'proc/cmdline') return `; \`${w.word}\` is inherited from this kernel's command line: remove it there, or drop it through ${where.remove ?? 'the kdump configuration'}`;
    if (w.from.startsWith('etc/')) return `; remove \`${w.word}\` from ${w.from.split(' ').slice(1).join(' ')} in /${w.from.split(' ')[0]}`;
    return `; \`${w.word}\` comes from ${w.from}: override it with ${where.append ?? 'the kdump configuration'}`;
  };
  if (off3a.length > 0) {
    const w = culprit('amd');
    out.predicted = '3a';
    out.basis = `translation is on now (${off3a.map((u) => u.name).join(', ')}) and the capture command line has ${w?.word ?? 'amd_iommu=off'}: the unit stays on with no driver running it`;
    out.finding = `predicted IOMMU case 3a: ${w?.word ?? 'amd_iommu=off'} on the kdump command line while AMD-Vi translates now; under QEMU with Debian's 6.12 kernel such a capture kernel reached /init and then hung (interrupts still remapped by the crashed kernel's tables), so no reset can help${advice(w)}`;
  } else if (off3b.length > 0) {
    const w = culprit('intel');
    out.predicted = '3b';
    out.basis = `translation is on now (${off3b.map((u) => u.name).join(', ')}) and the capture command line has ${w?.word ?? 'intel_iommu=off'}: the capture kernel switches translation off (4.19+), stray DMA reaches raw memory`;
    out.finding = `predicted IOMMU case 3b: ${w?.word ?? 'intel_iommu=off'} on the kdump command line while VT-d translates now: devices still running hit raw physical memory${advice(w)}`;
  } else if (on.length === 0 && translatingNow.length === 0 && opts.intel === 'on' && report.units.some((u) => u.vendor === 'intel' && u.translationEnabledNow === false)) {
    out.predicted = '2';
    out.basis = 'translation is off now and the capture command line has intel_iommu=on: devices still running fault until their drivers re-initialise them';
  }
  return out;
}
