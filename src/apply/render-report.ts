import type { ApplyReport } from './apply-report.js';

/** The report for people: one line per step, then the summary. `--json` prints the document instead. */
export function renderReport(r: ApplyReport): string {
  const lines: string[] = [];
  const mode = r.backend === 'simulator' ? ` (simulated${r.virtualTime ? ', virtual time' : ''})` : '';
  lines.push(`apply${mode}: ${r.captureKernel ? 'capture kernel' : r.live ? 'live system (--allow-live)' : 'no capture kernel'}, IOMMU case ${r.iommuCase ?? 'unknown'}, deadline ${r.deadlineMs} ms`);
  for (const s of r.steps) {
    const used = s.methodUsed && s.methodUsed !== s.method ? ` (via ${s.methodUsed})` : '';
    const fns = s.functions.length > 1 ? ` [${s.functions.length} functions]` : '';
    lines.push(`  step ${String(s.id).padStart(2)} wave ${s.wave} ${s.method}${used} ${s.target}${fns}: ${s.status} ${Math.round(s.durationMs)} ms`);
    if (s.error) lines.push(`      ${s.error}`);
    for (const m of s.restoreMismatches) lines.push(`      ${m.bdf} ${m.register}: reads 0x${m.actual.toString(16)}, restored 0x${m.expected.toString(16)}`);
    for (const n of s.notes) lines.push(`      note: ${n}`);
  }
  const sum = r.summary;
  lines.push(
    `${sum.ok} ok, ${sum.failed} failed, ${sum.abandoned} abandoned, ${sum.skipped} skipped; ${sum.functionsReset} function(s) reset in ${Math.round(r.durationMs)} ms${r.deadlineReached ? ' (deadline reached)' : ''}; exit ${r.exitStatus}`,
  );
  for (const b of r.busMasterCleared ?? []) lines.push(`${b}: DMA stopped (Bus Master cleared), not reset`);
  for (const b of r.busMasterLeftOn ?? []) lines.push(`${b.bdf}: not reset, Bus Master left as it was: ${b.reason}`);
  for (const p of r.problems) lines.push(`problem: ${p}`);
  return `${lines.join('\n')}\n`;
}
