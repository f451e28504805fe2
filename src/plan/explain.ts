import type { IommuCase } from '../iommu/iommu-report.js';
import { formatActions, formatMatch } from '../quirks/parse.js';
import { cite } from '../quirks/quirk-types.js';
import type { ScanDevice } from '../scan/scan-result.js';
import { deviceLabel, NO_NAMES, type Naming } from '../pci/device-label.js';
import { planWithTrace, type PlanInput } from './build-plan.js';
import type { Verdict } from './choose-method.js';
import { busCheck, type BusCheck } from './context.js';
import type { PlanEntry, PlanStep } from './plan.js';
import type { Scope } from './scope.js';
import { textBlock } from '../text/escape.js';
import { wrap } from '../text/wrap.js';

/** Every input that led to one function's fate (`explain BDF`). */
export interface Explanation {
  bdf: string;
  device: ScanDevice;
  scope: Scope;
  iommu: { case: IommuCase; unit: string | null; faults: number };
  quirks: { entry: string; match: string; actions: string; reason: string }[];
  /** Which entry decides each setting (most specific first, later tables win ties). */
  decided: Record<string, string>;
  /** For a bridge: whether a secondary bus reset below it is allowed. */
  asBridge: BusCheck | null;
  orderWhy: string | null;
  verdicts: Verdict[];
  outcome:
    | { kind: 'step'; step: PlanStep; covered: boolean }
    | { kind: 'unresettable'; reason: string }
    | { kind: 'excluded'; reason: string };
  notes: string[];
}

export function explainFunction(input: PlanInput, bdf: string): Explanation | null {
  const trace = planWithTrace(input);
  const { ctx, plan } = trace;
  const d = ctx.byBdf.get(bdf);
  if (!d) return null;
  const q = ctx.quirks.get(bdf)!;
  const dev = input.iommu.devices.find((x) => x.bdf === bdf);
  const decided: Record<string, string> = {};
  if (q.skip) decided.skip = cite(q.skip);
  if (q.noDma) decided.no_dma = cite(q.noDma);
  if (q.prefer) decided.prefer = `${q.prefer.value.join(',')} (${cite(q.prefer.from)})`;
  if (q.noFlr.length) decided.no_flr = q.noFlr.map(cite).join(', ');
  if (q.noPm.length) decided.no_pm = q.noPm.map(cite).join(', ');
  if (q.noBus.length) decided.no_bus = q.noBus.map(cite).join(', ');
  if (q.waitMs) decided.wait = `${q.waitMs.value} ms (${cite(q.waitMs.from)})`;
  if (q.d3hotMs) decided.d3hot = `${q.d3hotMs.value} ms (${cite(q.d3hotMs.from)})`;
  if (q.d3coldMs) decided.d3cold = `${q.d3coldMs.value} ms (${cite(q.d3coldMs.from)})`;
  if (q.assumeFlr) decided.assume = `flr (${cite(q.assumeFlr)})`;

  const stepId = trace.stepOf.get(bdf);
  const step = stepId === undefined ? undefined : plan.steps.find((s) => s.id === stepId);
  const un = plan.unresettable.find((e: PlanEntry) => e.bdf === bdf);
  const ex = plan.excluded.find((e: PlanEntry) => e.bdf === bdf);
  const outcome: Explanation['outcome'] = step
    ? { kind: 'step', step, covered: step.target !== bdf }
    : un
      ? { kind: 'unresettable', reason: un.reason }
      : { kind: 'excluded', reason: ex!.reason };
  const ev = trace.evaluations.get(bdf);
  return {
    bdf,
    device: d,
    scope: ctx.scope.get(bdf)!,
    iommu: { case: ctx.caseOf(bdf), unit: dev?.unit ?? null, faults: ctx.faults.get(bdf) ?? 0 },
    quirks: q.matched.map((e) => ({ entry: cite(e), match: formatMatch(e.match), actions: formatActions(e), reason: e.reason })),
    decided,
    asBridge: d.headerType === 1 || d.headerType === 2 ? busCheck(ctx, bdf) : null,
    orderWhy: ev?.orderWhy ?? null,
    verdicts: ev?.verdicts ?? [],
    outcome,
    notes: plan.notes,
  };
}

const WIDTH = 80;

export function renderExplanation(x: Explanation, naming: Naming = NO_NAMES): string {
  const d = x.device;
  const out: string[] = [];
  const cls = d.class === null ? 'unknown class' : `${deviceLabel(d, naming)} (${d.class})`;
  out.push(...wrap(`${d.bdf} ${d.vendor ?? '????'}:${d.device ?? '????'} ${cls}${d.revision ? ` rev ${d.revision}` : ''}`, WIDTH, '', '    '));
  const facts: string[] = [];
  if (d.subsystemVendor !== null) facts.push(`subsystem ${d.subsystemVendor}:${d.subsystemDevice}`);
  facts.push(d.parent ? `below ${d.parent}` : 'on a root bus');
  if (d.sameBus.length) facts.push(`shares its bus with ${d.sameBus.join(' ')}`);
  if (d.physfn) facts.push(`VF of ${d.physfn}`);
  if (d.virtfns.length) facts.push(`${d.virtfns.length} VFs`);
  if (d.driver) facts.push(`driver ${d.driver}`);
  out.push(...wrap(facts.join('; '), WIDTH, '  '));
  const caps: string[] = [];
  caps.push(d.pcieType ? `PCIe ${d.pcieType}` : 'conventional PCI');
  caps.push(`DevCap FLR${d.flr ? '+' : '-'}`);
  caps.push(d.af ? `AF TP${d.af.tp ? '+' : '-'} FLR${d.af.flr ? '+' : '-'}` : 'no AF');
  caps.push(d.pm ? `PM v${d.pm.version} NoSoftRst${d.pm.noSoftReset ? '+' : '-'} D${d.pm.powerState}` : 'no PM');
  if (d.command !== null) caps.push(`Bus Master ${(d.command & 0x4) !== 0 ? 'on' : 'off'}`);
  out.push(...wrap(`capabilities: ${caps.join(', ')}`, WIDTH, '  '));
  const listing = d.resetMethods === null ? 'no reset_method file' : `reset_method "${d.resetMethods.join(' ')}"`;
  const stale = d.staleResetMethods.length ? ` (would fail: ${d.staleResetMethods.join(' ')})` : '';
  out.push(...wrap(`kernel: ${listing}${stale}; reset file ${d.resetFile ? 'present' : 'absent'}; works at reset time: ${d.inferredResetMethods.join(' ') || 'none'}`, WIDTH, '  '));
  out.push(...wrap(`IOMMU: case ${x.iommu.case}${x.iommu.unit ? `, unit ${x.iommu.unit}` : ''}, ${x.iommu.faults} DMA fault${x.iommu.faults === 1 ? '' : 's'} logged`, WIDTH, '  '));
  for (const p of d.problems) out.push(...wrap(`scan problem: ${p}`, WIDTH, '  ! '));

  out.push('', x.scope.inScope ? 'Scope: in scope' : `Scope: out of scope`);
  if (x.scope.reason) out.push(...wrap(x.scope.reason, WIDTH, '  '));

  out.push('', x.quirks.length ? 'Quirk entries that match (highest precedence first):' : 'Quirk entries that match: none');
  for (const q of x.quirks) {
    out.push(...wrap(`${q.entry}  ${q.match}  ${q.actions}`, WIDTH, '  '));
    out.push(...wrap(q.reason, WIDTH, '      '));
  }
  const decided = Object.entries(x.decided);
  if (decided.length) out.push(...wrap(`in force: ${decided.map(([k, v]) => `${k} from ${v}`).join('; ')}`, WIDTH, '  '));

  if (x.asBridge) {
    out.push('', 'As a bridge:');
    out.push(...wrap(x.asBridge.ok ? `a secondary bus reset below it is allowed: ${x.asBridge.why}` : `no secondary bus reset below it: ${x.asBridge.why}`, WIDTH, '  '));
    if (x.asBridge.ok && x.asBridge.raw !== null) {
      out.push(...wrap(`but only through the kernel (the reset file of a function alone below it), never a raw one (Bridge Control, reset_subordinate): ${x.asBridge.raw}`, WIDTH, '  '));
    }
  }

  if (x.verdicts.length) {
    out.push('', `Methods, ${x.orderWhy}:`);
    for (const v of x.verdicts) {
      const head = `${v.ok ? 'yes' : 'no '} ${v.candidate.padEnd(22)}`;
      out.push(...wrap(`${v.ok ? `[${v.method}] ` : ''}${v.why}`, WIDTH, `  ${head} `, ' '.repeat(29)));
    }
  }

  out.push('');
  const o = x.outcome;
  if (o.kind === 'step') {
    const s = o.step;
    out.push(o.covered ? `Decision: reset by step ${s.id} (wave ${s.wave}), ${s.method} on ${s.target}` : `Decision: step ${s.id} (wave ${s.wave}), ${s.method} on ${s.target}`);
    out.push(...wrap(`resets: ${s.functions.join(' ')}`, WIDTH, '  '));
    if (s.saveRestore.length) out.push(...wrap(`saves and restores config of: ${s.saveRestore.join(' ')}`, WIDTH, '  '));
    if (s.waits.length) out.push(...wrap(`waits: ${s.waits.map((w) => `${w.what} ${w.ms} ms`).join(', ')}`, WIDTH, '  '));
    out.push(...wrap(`fallbacks: ${s.fallbacks.length ? s.fallbacks.join(', ') : 'none'}`, WIDTH, '  '));
    if (s.independentOf.length) out.push(...wrap(`runs alongside ${s.independentOf.length} other step${s.independentOf.length === 1 ? '' : 's'} of wave ${s.wave}`, WIDTH, '  '));
    out.push('  reasons:');
    for (const r of s.reasons) out.push(...wrap(r, WIDTH, '  - ', '    '));
  } else if (o.kind === 'unresettable') {
    out.push('Decision: UNRESETTABLE (in scope, no safe method)');
    out.push(...wrap(o.reason, WIDTH, '  '));
  } else {
    out.push('Decision: excluded');
    out.push(...wrap(o.reason, WIDTH, '  '));
  }
  for (const n of x.notes) out.push(...wrap(n, WIDTH, 'note: ', '      '));
  return textBlock(out);
}
