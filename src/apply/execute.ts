import type { Plan, PlanStep } from '../plan/plan.js';
import type { StepReport } from './apply-report.js';
import { notRunReport, StepRunner } from './run-step.js';
import type { ExecEnv } from './step-context.js';

export interface ExecuteOptions {
  /** Steps not to run, with the reason (the live-system guard); reported `skipped`. */
  skip?: Map<number, string>;
  /**
   * After the deadline, how long steps already running get to finish their cleanup (their waits stop at
   * once; this covers a write blocked in the kernel). Default 250 ms.
   */
  graceMs?: number;
}

export interface ExecuteResult {
  steps: StepReport[];
  deadlineReached: boolean;
  durationMs: number;
  /** Steps still blocked in the kernel when the run ended (their writes may yet complete). */
  stuck: number[];
}

/**
 * What a step holds: target, functions, a PF's VFs, everything below a bridge, and the bridge above the
 * target (the kernel locks it too in pci_reset_function()). Two steps that share any of it never overlap.
 */
function resources(step: PlanStep, env: ExecEnv): Set<string> {
  const out = new Set<string>([step.target, ...step.functions]);
  const parent = env.topo.parent(step.target);
  if (parent !== null) out.add(parent);
  for (const v of env.topo.vfs(step.target)) out.add(v);
  for (const b of env.topo.below(step.target)) out.add(b);
  return out;
}

/** The planner says they may run at once (same wave, or listed in independentOf). */
function mayOverlap(a: PlanStep, b: PlanStep): boolean {
  return a.wave === b.wave || (a.independentOf ?? []).includes(b.id) || (b.independentOf ?? []).includes(a.id);
}

function disjoint(a: Set<string>, b: Set<string>): boolean {
  for (const x of a) if (b.has(x)) return false;
  return true;
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
  const res = new Map(steps.map((s) => [s.id, resources(s, env)]));
  const reports = new Map<number, StepReport>();
  const running = new Map<number, { runner: StepRunner; promise: Promise<void> }>();
  const done = new Set<number>();
  for (const s of steps) {
    const why = options.skip?.get(s.id);
    if (why !== undefined) {
      reports.set(s.id, notRunReport(s, 'skipped', why, 0));
      done.add(s.id);
      log.info({ event: 'step.skipped', step: s.id, target: s.target, reason: why }, `step ${s.id} skipped: ${why}`);
    }
  }
  for (const s of steps) {
    for (const o of steps) {
      if (o.id < s.id && mayOverlap(s, o) && !disjoint(res.get(s.id)!, res.get(o.id)!)) {
        log.warn({ event: 'plan.overlap', step: s.id, other: o.id }, `steps ${o.id} and ${s.id} are marked independent but share a function or bridge; they will not overlap`);
      }
    }
  }

  const abort = new AbortController();
  let deadlineReached = false;
  const deadlineHit = clock.sleep(Math.max(0, deadline.remaining()), abort.signal).then(() => {
    if (!abort.signal.aborted) deadlineReached = true;
  });

  const startable = (s: PlanStep, index: number): boolean => {
    for (let j = 0; j < index; j++) {
      const e = steps[j]!;
      if (done.has(e.id)) continue;
      if (!mayOverlap(s, e) || !disjoint(res.get(s.id)!, res.get(e.id)!)) return false;
    }
    for (const id of running.keys()) if (!disjoint(res.get(s.id)!, res.get(id)!)) return false;
    return true;
  };

  for (;;) {
    if (deadlineReached || deadline.expired()) {
      deadlineReached = true;
      break;
    }
    steps.forEach((s, i) => {
      if (done.has(s.id) || running.has(s.id) || !startable(s, i)) return;
      const runner = new StepRunner(env, s, start);
      const promise = runner.run().then(
        (r) => {
          reports.set(s.id, r);
        },
        (err: unknown) => {
          reports.set(s.id, runner.abandonNow(`internal error: ${(err as Error)?.message ?? String(err)}`));
        },
      ).finally(() => {
        running.delete(s.id);
        done.add(s.id);
      });
      running.set(s.id, { runner, promise });
    });
    if (running.size === 0) break;
    await Promise.race([...[...running.values()].map((r) => r.promise), deadlineHit]);
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
      const grace = new AbortController();
      const settled = Promise.allSettled([...running.values()].map((r) => r.promise));
      await Promise.race([settled, clock.sleep(options.graceMs ?? 250, grace.signal)]);
      grace.abort();
      for (const [id, r] of running) {
        stuck.push(id);
        reports.set(id, r.runner.abandonNow('deadline reached while the step was blocked (a write still in the kernel)'));
      }
    }
  }
  abort.abort();
  await deadlineHit;
  return { steps: steps.map((s) => reports.get(s.id)!).filter(Boolean), deadlineReached, durationMs: Math.round((clock.now() - start) * 1000) / 1000, stuck };
}
