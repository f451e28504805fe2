import type { IommuCase, IommuReport, IommuUnit } from './iommu-report.js';
import { textBlock } from '../text/escape.js';
import { wrap } from '../text/wrap.js';

const WIDTH = 80;

/** What each case means for stray DMA (DEVELOPERS.md / the brief), for the human report. */
export const CASE_MEANING: Record<IommuCase, string> = {
  '1': 'off in both kernels: stray DMA lands in old-kernel memory, harmless',
  '2': 'off before, on in this kernel: IOMMU faults until drivers re-initialise the devices',
  '3a': 'on before, this kernel ignores it: new mappings are invalid, corruption likely',
  '3b': 'on before, switched off by this kernel: stray DMA hits raw physical memory',
  '4': 'on in both kernels: faults, and on some platforms PCI SERR, hangs, failed dumps',
  unknown: 'not decided',
  mixed: 'the units differ: each device has its own unit\'s case',
};

/** The short human report of `iommu` (the JSON document is the full one). */
export function renderIommuReport(r: IommuReport): string {
  const lines: string[] = [];
  const kind = r.evidence.filter((e) => e.source === 'proc/vmcore' && r.captureKernel).length ? '/proc/vmcore' : null;
  const how = [kind, r.evidence.some((e) => e.fact.startsWith('elfcorehdr=')) ? 'elfcorehdr=' : null].filter(Boolean).join(', ');
  lines.push(`capture kernel: ${r.captureKernel ? `yes (${how})` : 'no (no /proc/vmcore, no elfcorehdr=)'}`);
  if (r.units.length === 0) lines.push('IOMMU units: none found');
  for (const u of r.units) lines.push(...wrap(unitLine(u, r.captureKernel), WIDTH, '', '    '));
  if (r.captureKernel) lines.push(...wrap(`case ${r.case}: ${CASE_MEANING[r.case]}`, WIDTH, '', '    '));
  else if (r.prediction) lines.push(...wrap(`case: none on a live system; a capture kernel would likely see case ${r.prediction.case} (${r.prediction.basis})`, WIDTH, '', '    '));
  if (r.captureKernel) for (const m of r.missing) lines.push(...wrap(m, WIDTH, '  missing: ', '    '));
  const pt = r.passthrough;
  if (pt && (pt.before === true || pt.now === true)) {
    const parts = [pt.before === true ? 'the crashed kernel ran identity mappings (its old tables pass DMA through untranslated)' : null, pt.now === true ? 'this kernel gives devices identity domains' : null].filter(Boolean);
    lines.push(...wrap(`passthrough: ${parts.join('; ')}: stray DMA reaches raw memory, as in case 3b`, WIDTH, '', '    '));
  }
  for (const u of r.units) for (const n of u.notes ?? []) lines.push(...wrap(n, WIDTH, `  ${u.name}: `, '    '));
  const covered = new Map<string, number>();
  for (const d of r.devices) if (d.unit) covered.set(d.unit, (covered.get(d.unit) ?? 0) + 1);
  if (r.devices.length) {
    const parts = [...covered].map(([u, n]) => `${n} behind ${u}`);
    const none = r.devices.filter((d) => !d.unit).length;
    if (none) parts.push(`${none} not translated by any unit`);
    lines.push(...wrap(`devices: ${parts.join(', ')}`, WIDTH, '', '    '));
  }
  const faulty = r.devices.filter((d) => d.faults > 0 || d.irqFaults > 0).sort((a, b) => b.faults - a.faults);
  if (faulty.length) {
    lines.push(...wrap(`DMA faults: ${faulty.slice(0, 8).map((d) => `${d.bdf} ×${d.faults}${d.faultsBefore ? ` (${d.faultsBefore} in the crashed kernel)` : ''}${d.irqFaults ? ` +${d.irqFaults} IRQ` : ''}`).join(', ')}${faulty.length > 8 ? `, … ${faulty.length - 8} more` : ''}`, WIDTH, '', '    '));
  }
  const src = [r.sources.kmsg && `log ${r.sources.kmsg}`, r.sources.oldLog && `old log ${r.sources.oldLog}`, r.sources.registers && `registers ${r.sources.registers}`].filter(Boolean);
  if (src.length) lines.push(...wrap(`read: ${src.join('; ')}`, WIDTH, '', '    '));
  if (r.conflicts.length) lines.push(`conflicting evidence: ${r.conflicts.length} (see --json "conflicts")`);
  if (r.problems.length) {
    lines.push(`problems (${r.problems.length}):`);
    for (const p of r.problems.slice(0, 6)) lines.push(...wrap(p, WIDTH, '  ', '    '));
    if (r.problems.length > 6) lines.push(`  … ${r.problems.length - 6} more in --json`);
  }
  return textBlock(lines);
}

function unitLine(u: IommuUnit, capture: boolean): string {
  const at = u.registerBase ? ` @ ${u.registerBase.replace(/^0x/, '')}` : '';
  const state = u.translationEnabledNow === null ? 'unknown' : u.translationEnabledNow ? 'ON' : 'OFF';
  const notes: string[] = [];
  const basis = u.basis.now ?? '';
  if (basis.startsWith('measured')) notes.push(u.vendor === 'amd' ? 'IommuEn' : u.vendor === 'arm' ? 'CR0.SMMUEN/GBPA' : basis.includes('debugfs') ? 'GSTS.TES via debugfs' : 'GSTS.TES');
  else if (basis.startsWith('logged')) notes.push('kernel log');
  else if (basis) notes.push('inferred');
  if (capture) {
    if (u.oldTables === 'reused') notes.push('reused the crashed kernel\'s tables');
    else if (u.tablesCopied === true) notes.push('copied tables from previous kernel');
    else if (u.translationEnabledBefore === true && u.tablesCopied === false) notes.push('old tables not copied');
    if (u.translationEnabledBefore === true) notes.push('on in the crashed kernel');
    else if (u.translationEnabledBefore === false) notes.push('off in the crashed kernel');
    else notes.push('crashed kernel: unknown');
    if (u.managedNow === false && u.translationEnabledNow) notes.push('not run by this kernel\'s driver');
  }
  if (u.vendor === 'other') notes.push('IOMMU class not judged');
  if (u.smmu?.outcome) notes.push(`SMMU ${u.smmu.outcome}`);
  return `${u.name}${at}: translation ${state}${notes.length ? ` (${notes.join(', ')})` : ''}${capture ? ` → case ${u.case}` : ''}`;
}
