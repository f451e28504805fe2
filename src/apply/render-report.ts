import type { ApplyReport } from './apply-report.js';
import { textBlock } from '../text/escape.js';
import { wrap } from '../text/wrap.js';

const WIDTH = 80;

/** The report for people: one line per step, then the summary. `--json` prints the document instead. */
export function renderReport(r: ApplyReport): string {
  const lines: string[] = [];
  const mode = r.backend === 'simulator' ? ` (simulated${r.virtualTime ? ', virtual time' : ''})` : '';
  lines.push(...wrap(`apply${mode}: ${r.captureKernel ? 'capture kernel' : r.live ? 'live system (--allow-live)' : 'no capture kernel'}, IOMMU case ${r.iommuCase ?? 'unknown'}, deadline ${r.deadlineMs} ms`, WIDTH, '', '    '));
  for (const s of r.steps) {
    const used = s.methodUsed && s.methodUsed !== s.method ? ` (via ${s.methodUsed})` : '';
    const fns = s.functions.length > 1 ? ` [${s.functions.length} functions]` : '';
    lines.push(...wrap(`step ${String(s.id).padStart(2)} wave ${s.wave} ${s.method}${used} ${s.target}${fns}: ${s.status} ${Math.round(s.durationMs)} ms`, WIDTH, '  ', '      '));
    if (s.error) lines.push(...wrap(s.error, WIDTH, '      '));
    for (const m of s.restoreMismatches) lines.push(...wrap(`${m.bdf} ${m.register}: reads 0x${m.actual.toString(16)}, restored 0x${m.expected.toString(16)}`, WIDTH, '      '));
    for (const n of s.notes) lines.push(...wrap(n, WIDTH, '      note: ', '        '));
  }
  const sum = r.summary;
  lines.push(
    ...wrap(`${sum.ok} ok, ${sum.failed} failed, ${sum.abandoned} abandoned, ${sum.skipped} skipped; ${sum.functionsReset} function(s) reset in ${Math.round(r.durationMs)} ms${r.deadlineReached ? ' (deadline reached)' : ''}; exit ${r.exitStatus}`, WIDTH, '', '    '),
  );
  for (const b of r.busMasterCleared ?? []) lines.push(...wrap(`${b}: DMA stopped (Bus Master cleared), not reset`, WIDTH, '', '    '));
  for (const b of r.busMasterLeftOn ?? []) lines.push(...wrap(`${b.bdf}: not reset, Bus Master left as it was: ${b.reason}`, WIDTH, '', '    '));
  for (const p of r.problems) lines.push(...wrap(p, WIDTH, 'problem: ', '    '));
  return textBlock(lines);
}
