/**
 * `audit --prometheus FILE`: the report in the Prometheus text exposition format (0.0.4), for
 * node_exporter's textfile collector. Every device gets one sample with its verdict as a label, so one
 * query finds the machines and devices at risk (docs/audit.md).
 */
import type { AuditReport, AuditVerdict } from './audit-report.js';

const VERDICTS: AuditVerdict[] = ['agent', 'driver', 'harmless', 'keeps-dma', 'unknown'];

export function toPrometheus(r: AuditReport, nowSeconds: number): string {
  const out: string[] = [];
  const metric = (name: string, help: string, samples: { labels?: Record<string, string>; value: number }[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const s of samples) out.push(`${name}${labels(s.labels)} ${formatValue(s.value)}`);
  };
  metric('pci_reset_agent_kdump_ready', '1 when the kdump readiness audit found nothing that can make a crash dump fail, else 0.', [{ value: r.ready ? 1 : 0 }]);
  metric('pci_reset_agent_kdump_findings', 'Number of findings that put the crash dump at risk.', [{ value: r.findings.length }]);
  metric('pci_reset_agent_kdump_device', 'One sample per PCI function: what stops its DMA in the capture kernel (verdict label).', r.devices.map((d) => ({ labels: { bdf: d.bdf, vendor: d.vendor ?? '', device: d.device ?? '', verdict: d.verdict }, value: 1 })));
  metric('pci_reset_agent_kdump_devices', 'PCI functions per verdict.', VERDICTS.map((v) => ({ labels: { verdict: v }, value: r.counts[v] })));
  metric('pci_reset_agent_kdump_iommu_predicted_case', 'The IOMMU case predicted for the capture kernel (case label; 1 for the predicted one).', [{ labels: { case: r.iommu.predicted }, value: 1 }]);
  metric('pci_reset_agent_kdump_agent_in_image', '1 when the agent is in the kdump image, 0 when not, -1 when the image was not read.', [{ value: r.image.agent === null ? -1 : r.image.agent.bundle ? 1 : 0 }]);
  const ck: { labels: Record<string, string>; value: number }[] = [];
  if (r.crashkernel.reservedBytes !== null) ck.push({ labels: { kind: 'reserved' }, value: r.crashkernel.reservedBytes });
  if (r.crashkernel.neededBytes !== null) ck.push({ labels: { kind: 'needed_estimate' }, value: r.crashkernel.neededBytes });
  if (ck.length) metric('pci_reset_agent_kdump_crashkernel_bytes', 'Memory reserved for the capture kernel, and the estimate of what its image needs.', ck);
  metric('pci_reset_agent_kdump_info', 'The kdump setup audited (labels), value 1.', [{ labels: { tool: r.kdump.tool, kernel: r.kernelRelease ?? '', image: r.image.path ?? '' }, value: 1 }]);
  metric('pci_reset_agent_kdump_audit_timestamp_seconds', 'When the audit ran (Unix time).', [{ value: Math.round(nowSeconds) }]);
  return `${out.join('\n')}\n`;
}

function labels(l: Record<string, string> | undefined): string {
  if (!l) return '';
  return `{${Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** Exposition format: in label values, backslash, double quote and newline are escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}
