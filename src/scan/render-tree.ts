import { deviceLabel, NO_NAMES, type Naming } from '../pci/device-label.js';
import type { ScanDevice, ScanResult } from './scan-result.js';
import { printable, textBlock } from '../text/escape.js';
import { wrap } from '../text/wrap.js';

const WIDTH = 80;

/**
 * The human view of a scan: a topology tree like `lspci -tv`, each function with its IDs, driver and the
 * reset methods that would work, plus anything wrong with it.
 */
export function renderTree(result: ScanResult, naming: Naming = NO_NAMES): string {
  const byBdf = new Map(result.devices.map((d) => [d.bdf, d]));
  const children = new Map<string | null, ScanDevice[]>();
  for (const d of result.devices) {
    const key = d.parent && byBdf.has(d.parent) ? d.parent : null;
    let list = children.get(key);
    if (!list) children.set(key, (list = []));
    list.push(d);
  }
  const lines: string[] = [];
  const roots = children.get(null) ?? [];
  const byRootBus = new Map<string, ScanDevice[]>();
  for (const d of roots) {
    const bus = d.bdf.slice(0, d.bdf.lastIndexOf(':'));
    let list = byRootBus.get(bus);
    if (!list) byRootBus.set(bus, (list = []));
    list.push(d);
  }
  const seen = new Set<string>();
  const walk = (d: ScanDevice, prefix: string, last: boolean): void => {
    if (seen.has(d.bdf)) return;
    seen.add(d.bdf);
    const inner = prefix + (last ? '   ' : '│  ');
    const below = `${inner}${(children.get(d.bdf)?.length ?? 0) > 0 ? '│ ' : '  '}`;
    // Over 80 columns the line goes on under the function, indented past the branch.
    const { head, reset } = describe(d, naming);
    const branch = `${prefix}${last ? '└─ ' : '├─ '}`;
    if (printable(branch + head + reset).length + 2 <= WIDTH) lines.push(`${branch}${head}  ${reset}`);
    else lines.push(...wrap(head, WIDTH, branch, `${below}    `), ...wrap(reset, WIDTH, `${below}    `));
    for (const p of d.problems) lines.push(...wrap(p, WIDTH, `${below} ! `, `${below}   `));
    const kids = children.get(d.bdf) ?? [];
    kids.forEach((k, i) => walk(k, inner, i === kids.length - 1));
  };
  for (const [bus, devs] of byRootBus) {
    lines.push(`[${bus}] root bus`);
    devs.forEach((d, i) => walk(d, '', i === devs.length - 1));
  }
  for (const p of result.problems) lines.push(...wrap(p, WIDTH, '! ', '  '));
  const withProblems = result.devices.filter((d) => d.problems.length > 0).length;
  lines.push(
    `${result.devices.length} functions, ${withProblems} with problems` + (result.problems.length ? `, ${result.problems.length} listing problems` : ''),
  );
  return textBlock(lines);
}

function describe(d: ScanDevice, naming: Naming): { head: string; reset: string } {
  const ids = `${d.vendor ?? '????'}:${d.device ?? '????'}`;
  const cls = deviceLabel(d, naming);
  const kind = d.pcieType ? ` ${d.pcieType}` : '';
  const vf = d.physfn ? ` VF of ${d.physfn}` : d.virtfns.length ? ` ${d.virtfns.length} VFs` : '';
  const driver = d.driver ? ` [${d.driver}]` : '';
  const reset = d.inferredResetMethods.length ? d.inferredResetMethods.join(',') : 'none';
  const stale = d.staleResetMethods.length ? ` (kernel also lists ${d.staleResetMethods.join(',')}: would fail)` : '';
  return { head: `${d.bdf} ${ids} ${cls}${kind}${vf}${driver}`, reset: `reset: ${reset}${stale}` };
}
