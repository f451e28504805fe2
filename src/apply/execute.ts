import type { Plan, PlanStep } from '../plan/plan.js';
import type { StepReport } from './apply-report.js';
import { notRunReport, StepRunner } from './run-step.js';
import { MAX_POLL_MS, plannedWaitMs, type ExecEnv } from './step-context.js';
import { stopDma, type StopDmaResult } from './stop-dma.js';
import { conflicts, contested, functionStepClaims, type Claims } from '../plan/claims.js';

export interface ExecuteOptions {
  /** Steps not to run, with the reason (the live-system guard); reported `skipped`. */
  skip?: Map<number, string>;
  /**
   * After the deadline, how long steps already running get to finish their cleanup (their waits stop at
   * once; this covers a write blocked in the kernel). Default 250 ms.
   */
  graceMs?: number;
  /**
   * Capture kernel only: the last phase clears Bus Master on every in-scope function not reset `ok` and
   * with no driver bound (see stop-dma.ts). Never on a live system.
   */
  stopDma?: boolean;
}

/**
 * Time a step must have left for its restore, on top of its planned waits, to be started (ms): saving,
 * restoring and reading back a few functions' registers takes milliseconds of config accesses.
 */
export const RESTORE_MARGIN_MS = 20;

export interface ExecuteResult {
  steps: StepReport[];
  deadlineReached: boolean;
  durationMs: number;
  /** Steps still blocked in the kernel when the run ended (their writes may yet complete). */
  stuck: number[];
  /** With `stopDma`: functions not reset whose Bus Master reads 0 at the end (DMA stopped). */
  busMasterCleared: string[];
  /** With `stopDma`: functions not reset whose Bus Master was left alone, and why. */
  busMasterLeftOn: { bdf: string; reason: string }[];
}

/**
 * What a step holds (claims.ts): a bus reset owns its bridge, everything below it and the bridge above
 * (as before issue 16); a function reset owns its functions, the target's VFs and anything below the
 * target, and owns its upstream bridge when it resets through the kernel (pci_reset_function() locks it)
 * or only shares it when it is the agent's own FLR / AF FLR / PM reset. Two steps whose claims conflict
 * never overlap.
 */
function claimsOf(step: PlanStep, env: ExecEnv): Claims {
  if (step.method === 'bus') {
    const own = new Set<string>([step.target, ...step.functions, ...env.topo.below(step.target)]);
    const parent = env.topo.parent(step.target);
    if (parent !== null) own.add(parent);
    return { own: [...own], share: [] };
  }
  const c = functionStepClaims(step, env.topo);
  const below = env.topo.below(step.target);
  if (below.length === 0) return c;
  const own = new Set([...c.own, ...below]);
  return { own: [...own], share: c.share.filter((x) => !own.has(x)) };
}

/** The planner says they may run at once (same wave, or listed in independentOf). */
function mayOverlap(a: PlanStep, b: PlanStep): boolean {
  return a.wave === b.wave || (a.independentOf ?? []).includes(b.id) || (b.independentOf ?? []).includes(a.id);
}

/** How long the revisit after the last wave goes on at most: the kernel's own readiness limit. */
export const LATE_REVISIT_CAP_MS = 60000;

/**
 * Issue 12 item 4: the kernel waits up to 60 s for a function after a reset (pci_dev_wait(),
 * PCIE_RESET_READY_POLL_MS), a step here at most --ready-timeout. After the last wave every function a
 * step reset but could not restore is looked at again, polling as pci_dev_wait() does (intervals doubling
 * from 1 ms, capped), until each has its config back or the deadline comes; those left are named in
 * their step's `leftUnrestored`.
 */
async function revisitLate(runners: StepRunner[], env: ExecEnv): Promise<void> {
  let delay = 1;
  // Never longer than the kernel itself would have waited (PCIE_RESET_READY_POLL_MS, drivers/pci/pci.c).
  const until = env.clock.now() + LATE_REVISIT_CAP_MS;
  for (;;) {
    let waiting = 0;
    for (const r of runners) {
      r.lateRestore();
      waiting += r.lateFunctions.length;
    }
    if (waiting === 0) return;
    const left = Math.min(env.deadline.remaining(), until - env.clock.now());
    if (left <= 0) return;
    await env.clock.sleep(Math.min(delay, MAX_POLL_MS, left));
    delay *= 2;
  }
}

/**
 * Carry out a plan. Steps go in (wave, id) order; a step starts as soon as every earlier step it may not
 * overlap with has finished and nothing running shares a function or bridge with it, so independent
 * steps run together and their waits overlap. At the deadline nothing new starts, steps that have not
 * started are reported abandoned, running ones stop at their next wait and clean up.
 */
export async function executePlan(plan: Plan, env: ExecEnv, options: ExecuteOptions = {}): Promise<ExecuteResult> {
  const { clock, deadline, log } = env;
  const start = clock.now();
  const steps = [...plan.steps].sort((a, b) => a.wave - b.wave || a.id - b.id);
  const res = new Map(steps.map((s) => [s.id, claimsOf(s, env)]));
  const reports = new Map<number, StepReport>();
  const running = new Map<number, { runner: StepRunner; promise: Promise<void> }>();
  const runners: StepRunner[] = [];
  /**
   * Steps that gave up on a reset still blocked in the kernel: finished for the plan's order (later waves
   * go on without them) but their functions and bridge stay reserved until the kernel returns.
   */
  const held = new Map<number, Promise<void>>();
  const done = new Set<number>();
  for (const s of steps) {
    const why = options.skip?.get(s.id);
    if (why !== undefined) {
      reports.set(s.id, notRunReport(s, 'skipped', why, 0));
      done.add(s.id);
      log.info({ event: 'step.skipped', step: s.id, target: s.target, reason: why }, `step ${s.id} skipped: ${why}`);
    }
  }
  // Only pairs the plan lets overlap (same wave, or listed in independentOf) can conflict: comparing those
  // alone keeps this linear in the steps for a plan of many waves (1,663 steps: 2.7 million pairs otherwise).
  const byId = new Map(steps.map((s) => [s.id, s]));
  const byWave = new Map<number, PlanStep[]>();
  for (const s of steps) byWave.set(s.wave, [...(byWave.get(s.wave) ?? []), s]);
  /** independentOf names a step of another wave somewhere: the wave order is then not a barrier. */
  let crossWave = false;
  for (const s of steps) {
    const others = new Set<PlanStep>(byWave.get(s.wave)!);
    for (const id of s.independentOf ?? []) {
      const o = byId.get(id);
      if (o) others.add(o);
      if (o && o.wave !== s.wave) crossWave = true;
    }
    for (const o of [...others].sort((a, b) => a.id - b.id)) {
      if (o.id < s.id && mayOverlap(s, o) && conflicts(res.get(s.id)!, res.get(o.id)!)) {
        log.warn({ event: 'plan.overlap', step: s.id, other: o.id }, `steps ${o.id} and ${s.id} are marked independent but share a function or bridge; they will not overlap`);
      }
    }
  }

  const abort = new AbortController();
  let deadlineReached = false;
  /** A step was not started because the time left could not cover it: the deadline shaped the run. */
  let refusedForTime = false;
  const deadlineHit = clock.sleep(Math.max(0, deadline.remaining()), abort.signal).then(() => {
    if (!abort.signal.aborted) deadlineReached = true;
  });

  /** Every step before this index is done: the scheduler's scans start here. */
  let firstOpen = 0;
  const startable = (s: PlanStep, index: number): boolean => {
    for (let j = firstOpen; j < index; j++) {
      const e = steps[j]!;
      if (done.has(e.id)) continue;
      if (!mayOverlap(s, e) || conflicts(res.get(s.id)!, res.get(e.id)!)) return false;
    }
    for (const id of [...running.keys(), ...held.keys()]) if (conflicts(res.get(s.id)!, res.get(id)!)) return false;
    return true;
  };
  /** The step given up on in the kernel that holds something `s` needs, if any. */
  const heldBy = (s: PlanStep): { id: number; shared: string[] } | null => {
    for (const id of held.keys()) {
      const shared = contested(res.get(s.id)!, res.get(id)!);
      if (shared.length) return { id, shared };
    }
    return null;
  };

  for (;;) {
    if (deadlineReached || deadline.expired()) {
      deadlineReached = true;
      break;
    }
    while (firstOpen < steps.length && done.has(steps[firstOpen]!.id)) firstOpen++;
    // Steps are in wave order, and a step of a later wave may not start while an earlier one is open
    // (unless independentOf says so across waves): the scan stops at the first later wave, so each
    // pass costs a wave, not the whole plan (it ran once per finished step: cubic in the steps).
    const lastWave = crossWave || firstOpen >= steps.length ? Infinity : steps[firstOpen]!.wave;
    for (let i = firstOpen; i < steps.length; i++) {
      const s = steps[i]!;
      if (s.wave > lastWave) break;
      if (done.has(s.id) || running.has(s.id) || !startable(s, i)) continue;
      // A step starts only with time for its planned waits and its restore left: once its reset is issued
      // it holds its waits past the deadline, and one started 5 ms before it would strand functions.
      const left = deadline.remaining();
      const needs = plannedWaitMs(s) + RESTORE_MARGIN_MS;
      if (left < needs) {
        const why = `deadline reached for this step: not started: ${Math.max(0, Math.floor(left))} ms left, needs ${Math.ceil(needs)} ms (planned waits and quirk delay ${Math.ceil(needs - RESTORE_MARGIN_MS)} ms + ${RESTORE_MARGIN_MS} ms to restore)`;
        reports.set(s.id, notRunReport(s, 'abandoned', why, clock.now() - start));
        log.warn({ event: 'step.abandoned', step: s.id, target: s.target, leftMs: Math.floor(left), needsMs: Math.ceil(needs) }, `step ${s.id} abandoned: ${why}`);
        done.add(s.id);
        refusedForTime = true;
        continue;
      }
      const runner = new StepRunner(env, s, start);
      runners.push(runner);
      const promise = runner.run().then(
        (r) => {
          reports.set(s.id, r);
          const blocked = runner.inKernel;
          if (blocked.length) {
            held.set(
              s.id,
              Promise.allSettled(blocked).then(() => {
                held.delete(s.id);
              }),
            );
          }
        },
        (err: unknown) => {
          reports.set(s.id, runner.abandonNow(`internal error: ${(err as Error)?.message ?? String(err)}`));
        },
      ).finally(() => {
        running.delete(s.id);
        done.add(s.id);
      });
      running.set(s.id, { runner, promise });
    }
    if (running.size === 0) {
      // What is left waits only for steps given up on in the kernel: they had their time, so do not wait
      // for the deadline; report each such step as not started, naming what it shares.
      const waiting = steps.filter((s) => !done.has(s.id));
      if (waiting.length === 0) break;
      for (const s of waiting) {
        const by = heldBy(s);
        if (!by) continue;
        const why = `EBUSY in probe ${s.target}: not started: step ${by.id} is still blocked in the kernel holding ${by.shared.join(', ')}`;
        reports.set(s.id, notRunReport(s, 'failed', why, clock.now() - start));
        log.error({ event: 'step.end', step: s.id, status: 'failed', target: s.target, error: why }, `step ${s.id} failed: ${why}`);
        done.add(s.id);
      }
      continue;
    }
    await Promise.race([...[...running.values()].map((r) => r.promise), ...held.values(), deadlineHit]);
  }

  const stuck: number[] = [];
  if (deadlineReached) {
    log.warn({ event: 'apply.deadline', remaining: steps.filter((s) => !done.has(s.id)).map((s) => s.id) }, 'deadline reached: abandoning what is left');
    for (const s of steps) {
      if (done.has(s.id) || running.has(s.id)) continue;
      reports.set(s.id, notRunReport(s, 'abandoned', 'deadline reached before the step started', clock.now() - start));
      log.warn({ event: 'step.abandoned', step: s.id, target: s.target }, `step ${s.id} abandoned: deadline reached before it started`);
      done.add(s.id);
    }
    if (running.size) {
      // The grace is for steps finishing their own cleanup. A step that only waits for the kernel (a write
      // blocked since before the deadline: a dead function keeps it up to 60 s in pci_dev_wait()) gains
      // nothing from it, and the agent's exit must not wait for it: with only such steps left, none.
      if ([...running.values()].some((r) => !r.runner.waitingOnKernel)) {
        const grace = new AbortController();
        const settled = Promise.allSettled([...running.values()].map((r) => r.promise));
        await Promise.race([settled, clock.sleep(options.graceMs ?? 250, grace.signal)]);
        grace.abort();
      }
      // A step holding a raw reset finishes it (mandated waits, back to D0, restore): bounded by its waits
      // and the hold's readiness cap (HOLD_READY_CAP_MS), never by a write blocked in the kernel.
      const holding = [...running.values()].filter((r) => r.runner.holding);
      if (holding.length) await Promise.allSettled(holding.map((r) => r.promise));
      for (const [id, r] of running) {
        stuck.push(id);
        reports.set(id, r.runner.abandonNow('deadline reached while the step was blocked (a write still in the kernel)'));
      }
    }
  }
  for (const id of held.keys()) if (!stuck.includes(id)) stuck.push(id);
  // The revisit of late functions ends at the deadline by design: that is not the deadline cutting the plan short.
  const reachedBeforeRevisit = deadlineReached;
  if (!deadlineReached) await revisitLate(runners, env);
  abort.abort();
  await deadlineHit;
  const finished = steps.map((s) => reports.get(s.id)!).filter(Boolean);
  let dma: StopDmaResult = { cleared: [], leftOn: [] };
  if (options.stopDma) {
    const blocked = new Set<string>();
    for (const id of stuck) for (const b of res.get(id)?.own ?? []) blocked.add(b);
    dma = stopDma(plan, finished, env, blocked);
  }
  return {
    steps: finished,
    deadlineReached: reachedBeforeRevisit || refusedForTime,
    durationMs: Math.round((clock.now() - start) * 1000) / 1000,
    stuck,
    busMasterCleared: dma.cleared,
    busMasterLeftOn: dma.leftOn,
  };
}
