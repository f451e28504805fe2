import { describe, expect, it } from 'vitest';
import { AccessError } from '../../src/access/access-error.js';
import type { FaultAction } from '../../src/simulator/faults.js';
import type { TraceEntry } from '../../src/simulator/simulator.js';
import { exhaustive, report } from '../fuzz/prng.js';
import { rig, rigFrom } from './fixture.js';
import { brokenGuarantees, GRACE_MS, isWrite, load, reference, SCENARIOS, startsReset, type LoadedScenario, type Reference } from './fault-scenarios.js';
import { smallTree } from './trees.js';

const CODES = ['EIO', 'EACCES', 'ENOENT'] as const;

/** The operations of the fault-free run in the order they were issued (what a rule's `after` counts). */
function issued(ref: Reference): TraceEntry[] {
  const ops = ref.trace.filter((t) => t.issued !== undefined).sort((a, b) => a.issued! - b.issued!);
  ops.forEach((o, i) => expect(o.issued, 'the operation stream has no gaps').toBe(i));
  return ops;
}

/**
 * The faults tried at operation k: an errno (EIO, EACCES, ENOENT; in turn, or each of them in the long
 * run), the function vanishing just before it (reading all-ones, or its directory gone), a config or
 * reset_method write that is accepted but does not stick, and a kernel reset write that never returns.
 */
function faultsAt(op: TraceEntry, k: number): { action: FaultAction; code?: string }[] {
  const out: { action: FaultAction; code?: string }[] = [];
  for (const code of exhaustive() ? CODES : [CODES[k % CODES.length]!]) out.push({ action: { kind: 'error', code }, code });
  for (const how of exhaustive() ? (['all-ones', 'removed'] as const) : ([k % 2 ? 'removed' : 'all-ones'] as const)) out.push({ action: { kind: 'vanish', how } });
  // A `reset` write that returns success without resetting is not something the kernel does; a config write
  // or a reset_method write that does not stick is.
  if (op.op === 'writeConfigAt' || (op.op === 'writeAttribute' && op.name === 'reset_method')) out.push({ action: { kind: 'drop' } });
  if (op.op === 'writeAttribute' && (op.name === 'reset' || op.name === 'reset_subordinate')) out.push({ action: { kind: 'hang' } });
  return out;
}

async function sweepFaults(l: LoadedScenario): Promise<{ runs: number; broken: string[] }> {
  const ref = await reference(l);
  const broken: string[] = [];
  let runs = 0;
  for (const [k, op] of issued(ref).entries()) {
    for (const { action, code } of faultsAt(op, k)) {
      runs++;
      const r = rigFrom(l.base);
      r.sim.faults.add({ after: k, times: 1, action });
      const where = `op ${k} ${JSON.stringify({ op: op.op, bdf: op.bdf, offset: op.offset, name: op.name, t: op.t })} ${JSON.stringify(action)}`;
      let res;
      try {
        res = await r.run(l.plan);
      } catch (err) {
        broken.push(`${where}: the executor threw ${(err as Error).message}`);
        continue;
      }
      for (const b of brokenGuarantees({ l, ref, r, res, op, ...(code ? { code } : {}), deadlineMs: 30000, marginMs: GRACE_MS, othersOk: true })) broken.push(`${where}: ${b}`);
    }
  }
  return { runs, broken };
}

/**
 * The deadline falling at every instant the fault-free run touched hardware: 1 ms after operation k, and
 * inside operation k made to block for 50 ms (a config access stuck in completion timeouts), which puts
 * it in the synchronous phases too: save, quiesce, restore, read-back.
 */
async function sweepDeadline(l: LoadedScenario): Promise<{ runs: number; broken: string[] }> {
  const ref = await reference(l);
  const broken: string[] = [];
  let runs = 0;
  const SLOW = 50;
  for (const [k, op] of issued(ref).entries()) {
    for (const slow of [false, true]) {
      runs++;
      const r = rigFrom(l.base);
      if (slow) r.sim.faults.add({ after: k, times: 1, action: { kind: 'slow', ms: SLOW } });
      const deadlineMs = Math.max(0.5, op.t + (slow ? SLOW / 2 : 1));
      const where = `deadline ${deadlineMs} ms ${slow ? `inside op ${k} made ${SLOW} ms slow` : `1 ms after op ${k}`} ${JSON.stringify({ op: op.op, bdf: op.bdf, offset: op.offset, name: op.name })}`;
      let res;
      try {
        res = await r.run(l.plan, { deadlineMs });
      } catch (err) {
        broken.push(`${where}: the executor threw ${(err as Error).message}`);
        continue;
      }
      // A syscall blocked across the deadline cannot be interrupted: it adds to the margin.
      for (const b of brokenGuarantees({ l, ref, r, res, op, deadlineMs, marginMs: GRACE_MS + (slow ? SLOW : 0), othersOk: false })) broken.push(`${where}: ${b}`);
      // Nothing is reset once the deadline has passed (the slowed operation itself was issued before it).
      for (const t of r.sim.trace) {
        if (startsReset(t) && t.issued !== k && (t.issuedAt ?? t.t) >= deadlineMs) broken.push(`${where}: reset started after the deadline: ${JSON.stringify(t)}`);
      }
      for (const s of res.steps) if (s.status === 'failed' && !s.error?.match(/^E[A-Z]+ in /)) broken.push(`${where}: step ${s.id}: ${s.error}`);
    }
  }
  return { runs, broken };
}

/**
 * Fault injection at every I/O step of `apply`, over several scenarios (scenarios in fault-scenarios.ts,
 * guarantees in brokenGuarantees()): the run ends within the deadline plus the grace, steps that do not
 * touch the failing function still end ok, every failure is reported with its errno and phase, nothing
 * outside the plan is written, reset_method is put back, no bus is left in reset, no mandated wait is cut,
 * and nothing ends different from the fault-free run without the report saying so.
 */
describe.each(SCENARIOS)('every I/O operation failing in turn: $name', (scenario) => {
  it('the fault-free run is clean', async () => {
    const l = load(scenario);
    const ref = await reference(l);
    expect(ref.result.steps.map((s) => [s.id, s.status, s.error])).toEqual(l.plan.steps.map((s) => [s.id, 'ok', undefined]));
    expect(ref.trace.length).toBeGreaterThan(100);
    const r = rigFrom(l.base);
    const res = await r.run(l.plan);
    expect(brokenGuarantees({ l, ref, r, res, deadlineMs: 30000, marginMs: GRACE_MS, othersOk: true })).toEqual([]);
  });

  it('errno, vanish, a write that does not stick, a kernel write that hangs: at each operation', { timeout: 120_000 }, async () => {
    const start = performance.now();
    const { runs, broken } = await sweepFaults(load(scenario));
    report(`apply faults: ${scenario.name}`, runs, performance.now() - start);
    expect(broken.slice(0, 20)).toEqual([]);
  });

  it('the deadline at each operation, and inside each operation made slow', { timeout: 120_000 }, async () => {
    const start = performance.now();
    const { runs, broken } = await sweepDeadline(load(scenario));
    report(`apply deadline: ${scenario.name}`, runs, performance.now() - start);
    expect(broken.slice(0, 20)).toEqual([]);
  });
});

describe('the fault injector itself', () => {
  it('a fault rule never leaks out as a crash of the simulator itself', () => {
    const r = rig(smallTree());
    r.sim.faults.add({ action: { kind: 'error', code: 'EIO' } });
    expect(() => r.sim.readConfigAt('0000:01:00.0', 0, 4)).toThrow(AccessError);
  });

  it('counts operations as issued: an asynchronous reset write is traced when it completes, with its issue number', async () => {
    const l = load(SCENARIOS[1]!);
    const ref = await reference(l);
    // One during which other operations completed (the first may now have none: reset_method writes are asynchronous too).
    const reset = ref.trace.find((t) => t.op === 'writeAttribute' && t.name === 'reset' && t.issued! < t.seq)!;
    expect(reset).toBeDefined();
    expect(reset.issuedAt).toBeLessThan(reset.t);
    // A rule with `after: issued` fires on exactly that operation.
    const r = rigFrom(l.base);
    r.sim.faults.add({ after: reset.issued!, times: 1, action: { kind: 'error', code: 'EIO' } });
    await r.run(l.plan);
    expect(r.sim.trace.filter((t) => t.outcome.startsWith('error:'))).toEqual([expect.objectContaining({ op: 'writeAttribute', name: 'reset', bdf: reset.bdf, issued: reset.issued })]);
    expect(isWrite(reset)).toBe(true);
  });
});
