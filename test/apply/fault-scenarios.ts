import type { ExecuteResult } from '../../src/apply/execute.js';
import type { ExecTopology } from '../../src/apply/exec-topology.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Plan, PlanStep } from '../../src/plan/plan.js';
import { defaultTable } from '../../src/quirks/load.js';
import type { FunctionBehaviour } from '../../src/simulator/sim-function.js';
import { diffSnapshots, type SimSnapshot } from '../../src/simulator/snapshot.js';
import type { TraceEntry } from '../../src/simulator/simulator.js';
import type { MockTree } from '../../src/mock/tree-builder.js';
import { iommu } from '../plan/helpers.js';
import { planOf, rig, rigFrom, step, type Rig } from './fixture.js';
import { endpoint, smallTree } from './trees.js';

/**
 * The scenarios the fault sweeps replay (test/apply/every-io-fails.test.ts, deadline-phases.test.ts):
 * each a tree, the behaviour of its functions, and a plan. Loaded once; every run is a clone.
 */
export interface FaultScenario {
  name: string;
  tree: () => MockTree;
  behaviour?: Record<string, Partial<FunctionBehaviour>>;
  plan: (r: Rig) => Plan;
}

const RCIEP_PENDING = '0000:00:1e.0';

export const SCENARIOS: FaultScenario[] = [
  {
    // Root port 00:03.0 > switch 03:00.0 > ports 04:08.0 / 04:09.0 > a two-function endpoint and a single one.
    name: 'bus reset below a switch with several functions',
    tree: () => smallTree((t) => t.add(endpoint('0000:05:00.1', '0000:04:08.0', { device: 0x10fc }))),
    plan: (r) =>
      planOf([
        step({ id: 1, method: 'bus', target: '0000:00:03.0', functions: r.scan.devices.find((d) => d.bdf === '0000:00:03.0')!.below }),
        step({ id: 2, method: 'flr', target: '0000:01:00.0' }),
      ]),
  },
  {
    name: 'kernel:<m> with reset_method',
    tree: () => smallTree(),
    plan: () =>
      planOf([
        step({ id: 1, method: 'kernel:pm', target: '0000:00:1f.0', fallbacks: ['flr'] }),
        step({ id: 2, method: 'kernel:flr', target: '0000:01:00.0' }),
        step({ id: 3, method: 'flr', target: '0000:02:00.0' }),
      ]),
  },
  {
    // Transactions Pending clears 150 ms after Bus Master goes off on one function, never on the other.
    name: 'FLR with pending transactions',
    tree: () => smallTree((t) => t.add(endpoint(RCIEP_PENDING, undefined, { pcie: { type: 'rc_integrated_endpoint', flr: true, transactionsPending: true } }))),
    behaviour: { '0000:05:00.0': { pendingMs: 'never' } },
    plan: () =>
      planOf([
        step({ id: 1, method: 'flr', target: RCIEP_PENDING }),
        step({ id: 2, method: 'flr', target: '0000:05:00.0' }),
        step({ id: 3, method: 'pm', target: '0000:01:00.0' }),
      ]),
  },
  {
    name: 'PM resets',
    tree: () => smallTree(),
    plan: () =>
      planOf([
        step({ id: 1, method: 'pm', target: '0000:02:00.0', d3hotDelayMs: 20 }),
        step({ id: 2, method: 'pm', target: '0000:06:00.0' }),
        step({ id: 3, method: 'pm', target: '0000:00:1f.0' }),
      ]),
  },
  {
    // What the planner makes of the small machine, two steps a wave: kernel resets, bus resets, several waves.
    name: 'a multi-wave plan from the planner',
    tree: () => smallTree(),
    plan: (r) => buildPlan({ scan: r.scan, iommu: iommu('4'), quirks: defaultTable(), policy: { waveSize: 2 } }),
  },
];

/** Loaded once per scenario: the pristine rig every run clones, and the plan. */
export interface LoadedScenario {
  scenario: FaultScenario;
  base: Rig;
  plan: Plan;
}

export function load(s: FaultScenario): LoadedScenario {
  const base = rig(s.tree(), s.behaviour ? { behaviour: s.behaviour } : {});
  return { scenario: s, base, plan: s.plan(base) };
}

/** What one fault-free run did: the reference a faulted run is compared with. */
export interface Reference {
  trace: TraceEntry[];
  result: ExecuteResult;
  before: SimSnapshot;
  after: SimSnapshot;
}

export async function reference(l: LoadedScenario, deadlineMs = 30000): Promise<Reference> {
  const r = rigFrom(l.base);
  const before = r.sim.snapshot();
  const result = await r.run(l.plan, { deadlineMs });
  return { trace: [...r.sim.trace], result, before, after: r.sim.snapshot() };
}

/** Every BDF a step may touch: its target and functions, and every bridge above them (the root port's RRS bit is read). */
export function reach(s: PlanStep, topo: ExecTopology): Set<string> {
  const out = new Set<string>();
  for (const f of [s.target, ...s.functions]) {
    out.add(f);
    for (let p = topo.parent(f), depth = 0; p !== null && depth < 256; p = topo.parent(p), depth++) out.add(p);
  }
  return out;
}

export const isWrite = (t: TraceEntry): boolean => t.op === 'writeConfigAt' || t.op === 'writeAttribute';

/**
 * What the executor gives itself after the deadline: steps still running stop at their next wait at once;
 * one blocked in the kernel gets this much to return before it is reported abandoned (execute.ts graceMs).
 */
export const GRACE_MS = 250;

/** An error line as the report contract spells it: errno, phase, function; or the chain's or the deadline's summary. */
export const ERROR_LINE = /^(E[A-Z]+ in (probe|save|reset|wait|restore|verify|cleanup) [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]: |no method in the chain applies: |deadline reached )/;

/** Writes that start a reset: Initiate FLR, AF FLR, Secondary Bus Reset, D3hot, the kernel's reset files. */
export function startsReset(t: TraceEntry): boolean {
  if (t.op === 'writeAttribute') return t.name === 'reset' || t.name === 'reset_subordinate';
  if (t.op !== 'writeConfigAt' || typeof t.value !== 'number') return false;
  const v = t.value;
  return (t.offset === 0x78 && (v & 0x8000) !== 0) || (t.offset === 0x3e && (v & 0x40) !== 0) || (t.offset === 0x44 && (v & 3) === 3);
}

export interface RunCheck {
  l: LoadedScenario;
  ref: Reference;
  r: Rig;
  res: ExecuteResult;
  /** The operation the fault hit (issue order), if any. */
  op?: TraceEntry;
  /** The injected errno, for error faults. */
  code?: string;
  deadlineMs: number;
  /** How long past the deadline the run may end: the grace, plus a syscall that was blocked across it. */
  marginMs: number;
  /** A fault that does not touch other steps: they must all end ok. */
  othersOk: boolean;
}

/**
 * The guarantees every faulted run must keep. Returns the list of broken ones (empty when all hold), each
 * with enough context to replay it.
 */
export function brokenGuarantees(c: RunCheck): string[] {
  const { l, ref, r, res } = c;
  const out: string[] = [];
  const topo = r.env().topo;
  const planned = new Set(l.plan.steps.flatMap((s) => [s.target, ...s.functions]));
  const byId = new Map(l.plan.steps.map((s) => [s.id, s]));
  const reaches = (id: number, bdf: string): boolean => reach(byId.get(id)!, topo).has(bdf);
  const after = r.sim.snapshot();

  // Every step reported once, with a status; a failure names errno, phase and function.
  if (res.steps.length !== l.plan.steps.length || new Set(res.steps.map((s) => s.id)).size !== res.steps.length) out.push(`report has ${res.steps.length} steps for ${l.plan.steps.length} planned`);
  for (const s of res.steps) {
    if (!['ok', 'failed', 'abandoned'].includes(s.status)) out.push(`step ${s.id} status ${s.status}`);
    if (s.status === 'abandoned' && !res.deadlineReached) out.push(`step ${s.id} abandoned without the deadline: ${s.error}`);
    if (s.status !== 'ok' && !ERROR_LINE.test(s.error ?? '')) out.push(`step ${s.id} error without errno and phase: ${JSON.stringify(s.error)}`);
  }
  // Bounded time.
  const end = r.clock.now();
  if (end > c.deadlineMs + c.marginMs) out.push(`ended at ${end} ms, deadline ${c.deadlineMs} + margin ${c.marginMs}`);
  // Steps that do not reach the failing function are handled as without the fault.
  if (c.othersOk && c.op?.bdf) {
    for (const s of res.steps) if (!reaches(s.id, c.op.bdf) && s.status !== 'ok') out.push(`step ${s.id} does not touch ${c.op.bdf} but ended ${s.status}: ${s.error}`);
  }
  // The injected errno is in the report of a step that touches the function, or the fault left no mark at all.
  if (c.code && c.op?.bdf) {
    const text = JSON.stringify(res.steps.filter((s) => reaches(s.id, c.op!.bdf!)));
    const sameEnd = diffSnapshots(ref.after, after).length === 0 && res.steps.every((s) => s.status === ref.result.steps.find((x) => x.id === s.id)!.status);
    if (!text.includes(c.code) && !sameEnd) out.push(`${c.code} changed the outcome but is not in the report`);
  }
  // No write outside the planned functions: in the trace, and in the device state.
  for (const t of r.sim.trace) if (isWrite(t) && !planned.has(t.bdf!)) out.push(`write to unplanned ${t.bdf}: ${JSON.stringify(t)}`);
  for (const d of diffSnapshots(ref.before, after)) {
    if (d.what === 'presence' || d.what === 'reachable') continue; // the injected vanish, not a write
    if (!planned.has(d.bdf)) out.push(`unplanned ${d.bdf} changed: ${JSON.stringify(d)}`);
  }
  // reset_method as it was; for a function that is gone, a note says what became of it.
  for (const [bdf, before] of ref.before) {
    const now = after.get(bdf)!;
    if (before.resetMethod === now.resetMethod) continue;
    const gone = now.presence !== 'present';
    const said = res.steps.some((s) => reaches(s.id, bdf) && s.notes.some((n) => n.includes('reset_method')));
    // A reset write still in the kernel: reset_method is put back only when it returns (never mid-reset).
    const deferred = res.steps.some((s) => reaches(s.id, bdf) && s.notes.some((n) => n.includes("put back") && n.includes("when the kernel's reset returns")));
    if (deferred) continue;
    if (!gone || !said) out.push(`reset_method of ${bdf} "${before.resetMethod}" -> "${now.resetMethod}"${gone ? ' (gone, and no note)' : ''}`);
  }
  // No bus left in reset, no mandated wait cut short.
  for (const f of r.sim.functions) {
    if (f.presence === 'present' && f.model.layout?.headerType === 1 && (f.config[0x3e]! & 0x40) !== 0 && !f.behaviour.stuckResetBit) out.push(`${f.bdf} left with Secondary Bus Reset set`);
  }
  for (const v of r.sim.violations) out.push(`violation: ${JSON.stringify(v)}`);
  // Nothing changed silently: a function that ends different from the fault-free run is named in the report.
  for (const d of diffSnapshots(ref.after, after)) {
    if (d.what === 'presence' || d.what === 'reachable') continue;
    const named = res.steps.some(
      (s) => (s.status !== 'ok' && (s.functions.includes(d.bdf) || s.target === d.bdf)) || s.restoreMismatches.some((m) => m.bdf === d.bdf) || s.notes.some((n) => n.includes(d.bdf)),
    );
    if (!named) out.push(`${d.bdf} ${d.what} ${d.before} -> ${d.after} (vs the fault-free run) and the report does not say`);
  }
  // A step reported ok really reset its functions.
  for (const s of res.steps) {
    if (s.status !== 'ok') continue;
    for (const f of s.functions) if (!r.sim.resetLog.some((x) => x.bdf === f)) out.push(`step ${s.id} ok but ${f} was not reset`);
  }
  return out;
}
