import { deviceLabel, NO_NAMES, type Naming } from '../pci/device-label.js';
import type { ScanDevice, ScanResult } from '../scan/scan-result.js';
import type { Plan, PlanStep } from './plan.js';
import { textBlock } from '../text/escape.js';
import { wrap } from '../text/wrap.js';

const WIDTH = 80;

/**
 * The human view of a plan, readable on an 80-column console: the topology tree with each function's
 * fate under it (its step, the step that covers it, or why it is left alone), then every step with its
 * reasons, the unresettable functions and a summary of the excluded ones.
 */
export function renderPlan(plan: Plan, scanResult: ScanResult, naming: Naming = NO_NAMES): string {
  const out: string[] = [];
  const stepOf = new Map<string, PlanStep>();
  for (const s of plan.steps) for (const f of s.functions) stepOf.set(f, s);
  const bridgeStep = new Map<string, PlanStep>();
  for (const s of plan.steps) if (s.method === 'bus') bridgeStep.set(s.target, s);
  const unresettable = new Map(plan.unresettable.map((e) => [e.bdf, e.reason]));
  const excluded = new Map(plan.excluded.map((e) => [e.bdf, e.reason]));

  out.push(...summary(plan));
  for (const n of plan.notes) out.push(...wrap(n, WIDTH, 'note: ', '      '));
  out.push('');

  const byBdf = new Map(scanResult.devices.map((d) => [d.bdf, d]));
  const children = new Map<string | null, ScanDevice[]>();
  for (const d of scanResult.devices) {
    const key = d.parent && byBdf.has(d.parent) ? d.parent : null;
    const list = children.get(key) ?? [];
    list.push(d);
    children.set(key, list);
  }
  const seen = new Set<string>();
  const annotate = (d: ScanDevice): string | null => {
    const own = bridgeStep.get(d.bdf);
    if (own) return `=> step ${own.id} (wave ${own.wave}): secondary bus reset of the ${own.functions.length} function${own.functions.length === 1 ? '' : 's'} below`;
    const s = stepOf.get(d.bdf);
    if (s) {
      if (s.target === d.bdf) {
        const extra = s.functions.length > 1 ? ` with its ${s.functions.length - 1} VF${s.functions.length === 2 ? '' : 's'}` : '';
        return `=> step ${s.id} (wave ${s.wave}): ${describeMethod(s)}${extra}`;
      }
      return `-> reset by step ${s.id} (${s.method === 'bus' ? `bus reset of ${s.target}` : `${s.method} of ${s.target}`})`;
    }
    const u = unresettable.get(d.bdf);
    if (u !== undefined) return `!! UNRESETTABLE: ${shortReason(u)}`;
    const e = excluded.get(d.bdf);
    if (e !== undefined && !e.startsWith('bridge:')) return `-- ${shortReason(e)}`;
    return null;
  };
  const walk = (d: ScanDevice, prefix: string, last: boolean): void => {
    if (seen.has(d.bdf)) return;
    seen.add(d.bdf);
    const inner = prefix + (last ? '   ' : '│  ');
    const kids = children.get(d.bdf) ?? [];
    out.push(...wrap(describe(d, naming), WIDTH, `${prefix}${last ? '└─ ' : '├─ '}`, `${inner}${kids.length ? '│ ' : '  '}    `));
    const note = annotate(d);
    if (note) out.push(...wrap(note, WIDTH, `${inner}${kids.length ? '│ ' : '  '} `, `${inner}${kids.length ? '│ ' : '  '}    `));
    kids.forEach((k, i) => walk(k, inner, i === kids.length - 1));
  };
  const roots = children.get(null) ?? [];
  const buses = new Map<string, ScanDevice[]>();
  for (const d of roots) {
    const bus = d.bdf.slice(0, d.bdf.lastIndexOf(':'));
    const list = buses.get(bus) ?? [];
    list.push(d);
    buses.set(bus, list);
  }
  for (const [bus, devs] of buses) {
    out.push(`[${bus}] root bus`);
    devs.forEach((d, i) => walk(d, '', i === devs.length - 1));
  }

  if (plan.steps.length) {
    out.push('', 'Steps (in order; the steps of one wave may run at the same time)');
    // A reason every step gives (the IOMMU case) is said once, not under each step.
    const shared = plan.steps.length > 1 ? plan.steps[0]!.reasons.filter((r) => plan.steps.every((s) => s.reasons.includes(r))) : [];
    for (const r of shared) out.push(...wrap(r, WIDTH, 'every step: ', '    '));
    for (const s of plan.steps) out.push(...renderStep(s, new Set(shared)));
  }
  if (plan.unresettable.length) {
    out.push('', `Unresettable (${plan.unresettable.length}): in scope, but no safe reset method`);
    // Functions with the same reason are listed together (a reason names its function: that part is cut).
    const byReason = new Map<string, string[]>();
    for (const u of plan.unresettable) {
      const reason = u.reason.startsWith(`${u.bdf}: `) ? u.reason.slice(u.bdf.length + 2) : u.reason;
      byReason.set(reason, [...(byReason.get(reason) ?? []), u.bdf]);
    }
    for (const [reason, bdfs] of byReason) {
      if (bdfs.length === 1) out.push(...wrap(reason, WIDTH, `  ${bdfs[0]}  `, '      '));
      else out.push(...wrap(`${bdfs.join(' ')}:`, WIDTH, '  ', '  '), ...wrap(reason, WIDTH, '      '));
    }
  }
  if (plan.excluded.length) {
    out.push('', `Excluded (${plan.excluded.length}): out of scope`);
    const byReason = new Map<string, string[]>();
    for (const e of plan.excluded) {
      const list = byReason.get(e.reason) ?? [];
      list.push(e.bdf);
      byReason.set(e.reason, list);
    }
    for (const [reason, bdfs] of byReason) {
      const shown = bdfs.length <= 6 ? bdfs.join(' ') : `${bdfs.slice(0, 6).join(' ')} and ${bdfs.length - 6} more`;
      out.push(...wrap(`${bdfs.length} × ${reason}: ${shown}`, WIDTH, '  ', '      '));
    }
  }
  return textBlock(out);
}

function summary(plan: Plan): string[] {
  const waves = new Set(plan.steps.map((s) => s.wave)).size;
  const resets = plan.steps.reduce((n, s) => n + s.functions.length, 0);
  const head =
    `Plan for IOMMU case ${plan.iommuCase}: ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'} in ${waves} wave${waves === 1 ? '' : 's'} ` +
    `resetting ${resets} function${resets === 1 ? '' : 's'}; ${plan.unresettable.length} unresettable, ${plan.excluded.length} excluded.`;
  const lines = wrap(head, WIDTH, '');
  if (plan.steps.length) lines.push(...wrap(`Mandated waits: at least ${minimumWaitMs(plan)} ms in all (the longest step of each wave, wave after wave).`, WIDTH, ''));
  lines.push('This is a plan: nothing has been written.');
  return lines;
}

/** The least time the plan takes: per wave the longest step's mandated waits, waves one after another. */
export function minimumWaitMs(plan: Plan): number {
  const perWave = new Map<number, number>();
  for (const s of plan.steps) {
    const ms = s.waits.reduce((n, w) => n + w.ms, 0);
    perWave.set(s.wave, Math.max(perWave.get(s.wave) ?? 0, ms));
  }
  return [...perWave.values()].reduce((a, b) => a + b, 0);
}

function describeMethod(s: PlanStep): string {
  switch (s.method) {
    case 'flr':
      return 'FLR (raw, config saved and restored)';
    case 'af_flr':
      return 'AF FLR (raw, config saved and restored)';
    case 'pm':
      return `PM reset D3hot->D0 (raw, ${s.d3hotDelayMs} ms each way)`;
    case 'kernel':
      return `the kernel's reset file (${s.underlying ?? 'its chain'} first)`;
    case 'vfio':
      return `VFIO_DEVICE_RESET (${s.underlying ?? 'the kernel chain'} first)`;
    case 'bus':
      return `secondary bus reset of ${s.target}`;
    default:
      return `the kernel's reset file, method ${s.method.slice(7)}`;
  }
}

function renderStep(s: PlanStep, shared: Set<string>): string[] {
  const total = s.waits.reduce((n, w) => n + w.ms, 0);
  const via = s.underlying && s.underlying !== s.method && !s.method.endsWith(`:${s.underlying}`) ? ` (${s.underlying})` : '';
  const lines = wrap(`#${s.id}  wave ${s.wave}  ${s.method}${via} on ${s.target}  (${total} ms of mandated waits)`, WIDTH, '', '    ');
  lines.push(...wrap(`resets: ${s.functions.join(' ')}`, WIDTH, '    ', '      '));
  if (s.saveRestore.length) lines.push(...wrap(`saves and restores config of: ${s.saveRestore.length === s.functions.length ? 'all of them' : s.saveRestore.join(' ')}`, WIDTH, '    ', '      '));
  if (s.waits.length) lines.push(...wrap(`waits: ${s.waits.map((w) => `${w.what} ${w.ms} ms`).join(', ')}`, WIDTH, '    ', '      '));
  if (s.fallbacks.length) lines.push(...wrap(`if it fails as not supported: ${s.fallbacks.join(', ')}`, WIDTH, '    ', '      '));
  for (const r of s.reasons) if (!shared.has(r)) lines.push(...wrap(r, WIDTH, '    - ', '      '));
  return lines;
}

function describe(d: ScanDevice, naming: Naming): string {
  const ids = `${d.vendor ?? '????'}:${d.device ?? '????'}`;
  const cls = deviceLabel(d, naming);
  const vf = d.physfn ? ' (VF)' : '';
  const driver = d.driver ? ` [${d.driver}]` : '';
  return `${d.bdf} ${ids} ${cls}${vf}${driver}`;
}

/** The head of a reason: up to the first ": " or " (", enough for the tree. */
function shortReason(reason: string): string {
  const cut = reason.search(/: | \(/);
  const head = cut > 0 ? reason.slice(0, cut).trim() : reason;
  return head.length > 60 ? `${head.slice(0, 59)}…` : head;
}
