import { fit, wrap } from '../text/wrap.js';
import type { AuditDevice, AuditReport, AuditVerdict } from './audit-report.js';
import { mib } from './crashkernel.js';

const WIDTH = 80;
const ORDER: AuditVerdict[] = ['keeps-dma', 'unknown', 'driver', 'agent', 'harmless'];

/**
 * The human view of an audit, on an 80-column console: the headline first, then what it rests on.
 * `numeric` (-n, as lspci -n): class codes instead of class names in the device lines.
 */
export function renderAudit(r: AuditReport, options: { numeric?: boolean } = {}): string {
  const out: string[] = [];
  out.push(...wrap(r.headline, WIDTH, '', '  '));
  out.push('');
  for (const f of r.findings) out.push(...wrap(f, WIDTH, 'AT RISK: ', '         '));
  for (const w of r.warnings) out.push(...wrap(w, WIDTH, 'warning: ', '         '));
  if (r.findings.length || r.warnings.length) out.push('');

  const field = (name: string, text: string): void => {
    out.push(...wrap(text, WIDTH, `${name.padEnd(9)} `, ' '.repeat(10)));
  };
  field('kdump:', r.kdump.tool === 'none' ? 'no kdump tooling found' : `${r.kdump.tool}${r.kdump.configFiles.length ? ` (${r.kdump.configFiles.map((f) => `/${f}`).join(', ')})` : ''}`);
  field('cmdline:', r.kdump.cmdline ?? 'unknown');
  if (r.image.error) field('image:', r.image.error);
  else if (r.image.path) {
    const comp = r.image.segments.map((s) => s.compression).join('+');
    field('image:', `${r.image.path.startsWith('/') ? r.image.path : `/${r.image.path}`} (${comp}, ${mb(r.image.storedBytes!)} → ${mb(r.image.unpackedBytes!)} unpacked, ${r.image.entries} entries, ${r.image.modules} modules, read in ${r.image.readMs} ms)`);
  }
  const a = r.image.agent;
  const st = r.image.agentSettings;
  if (a) {
    const where = `${a.bundle}${a.version ? `, version ${a.version}` : ''}${a.node ? `, node ${a.node}` : ', no node found'}${a.quirkTables.length ? `, ${a.quirkTables.length} admin table(s)` : ''}`;
    const args = st && st.args.length ? `; PRA_ARGS ${st.args.join(' ')}` : '';
    field('agent:', !a.bundle ? 'NOT in the image: no reset will run in the capture kernel' : st && !st.enabled ? `in the image but DISABLED (${st.disabledBy}): no reset will run (${where})` : `in the image (${where}${args})`);
  }
  const c = r.crashkernel;
  field('memory:', c.reservedBytes === null ? c.basis : `crashkernel=${c.option ?? '(none)'}: ${mib(c.reservedBytes)} reserved${c.neededBytes !== null ? `, about ${mib(c.neededBytes)} needed (estimate)` : ''}`);
  const now = r.iommu.translatingNow.length ? `translation on (${r.iommu.translatingNow.join(', ')})` : r.iommu.caseNow === 'unknown' ? 'no unit translating' : `case ${r.iommu.caseNow}`;
  field('IOMMU:', `now ${now}; PREDICTED for the capture kernel: case ${r.iommu.predicted} (${r.iommu.basis})`);
  out.push('');

  const n = r.devices.length;
  out.push(fit(`devices (${n}): ${ORDER.filter((v) => r.counts[v]).map((v) => `${r.counts[v]} ${v}`).join(', ')}`, WIDTH));
  const sorted = [...r.devices].sort((x, y) => ORDER.indexOf(x.verdict) - ORDER.indexOf(y.verdict));
  for (const d of sorted) out.push(...deviceLines(d, options.numeric === true));
  return `${out.join('\n')}\n`;
}

function deviceLines(d: AuditDevice, numeric: boolean): string[] {
  const id = `${d.vendor ?? '????'}:${d.device ?? '????'}`;
  const head = `${d.bdf} ${id} ${d.verdict.padEnd(9)} `;
  const what = numeric ? `class ${d.class?.slice(0, 4) ?? '????'}` : d.description;
  return wrap(`${what}: ${d.reason}`, WIDTH, head, ' '.repeat(head.length));
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}
