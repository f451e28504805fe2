import { AGENT_DISABLED, AGENT_NOT_IN_IMAGE, type AuditReport } from './audit-report.js';

/**
 * The one line a human reads first: ready, or the worst thing found. Devices that keep doing DMA come
 * first (what can kill a dump), then the IOMMU prediction, the image and the memory.
 */
export function headline(r: AuditReport): string {
  if (r.ready) {
    const stopped = r.counts.agent + r.counts.driver;
    return `kdump readiness: ready (${stopped} function${stopped === 1 ? '' : 's'} stopped in the capture kernel, ${r.counts.harmless} harmless, IOMMU case ${r.iommu.predicted} predicted)`;
  }
  const keeps = r.devices.filter((d) => d.verdict === 'keeps-dma');
  if (keeps.length) {
    const first = keeps[0]!;
    const what = `${first.bdf} ${first.vendor ?? '????'}:${first.device ?? '????'} ${first.description}`;
    const why = first.disabledModules.length ? 'driver disabled' : first.capture === 'none' ? 'no driver' : 'not stopped';
    const more = keeps.length > 1 ? ` and ${keeps.length - 1} more` : '';
    return `kdump readiness: ${keeps.length} device${keeps.length === 1 ? '' : 's'} will keep doing DMA in the capture kernel (${what}, ${why}, ${agentSide(first.reason)}${more})`;
  }
  if (r.iommu.finding) return `kdump readiness: at risk: IOMMU case ${r.iommu.predicted} predicted in the capture kernel (${r.iommu.words.map((w) => w.word).filter((w) => w.includes('off')).join(' ') || 'see below'})`;
  if (r.image.error) return `kdump readiness: unknown: ${r.image.error}`;
  return `kdump readiness: at risk: ${r.findings[0]}`;
}

/**
 * Why the agent does not stop it, in a few words, from the second half of a keeps-dma reason (audit.ts
 * judge()): the audit's own words, or the planner's reason for leaving the function out.
 */
function agentSide(reason: string): string {
  const side = reason.slice(reason.indexOf('; ') + 2);
  if (side.startsWith(AGENT_NOT_IN_IMAGE)) return 'agent not in the image';
  if (side.startsWith(AGENT_DISABLED)) return 'agent disabled in the image';
  if (side.startsWith('excluded by')) return side;
  if (side.startsWith('no safe reset')) return 'no safe reset';
  return 'not reset by the agent';
}
