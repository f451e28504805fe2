import type { PlanMethod, PlanStep } from '../plan/plan.js';
import type { RestoreMismatch, StepAttempt, StepReport, StepStatus, StepWaitRecord } from './apply-report.js';
import { bringUp } from './bring-up.js';
import { DeadlineError, MethodError, StillInKernel, describeFailure } from './method-error.js';
import type { ResetMethod } from './methods/method.js';
import { methodFor } from './methods/table.js';
import { neverReset, staleIdentity } from './never-reset.js';
import { SaveSession } from './save-restore/session.js';
import { StepContext, type ExecEnv } from './step-context.js';

type AttemptResult = StepAttempt['result'];

/** Saved-register groups pci_save_state() reads from the hardware and pci_restore_state() always writes back. */
const KERNEL_RESTORES_FROM_HARDWARE = new Set(['header', 'pcie', 'aer', 'ltr']);

/**
 * Runs one plan step: the planned method, then its fallbacks while the kernel's "not supported" comes
 * back. Around each raw register reset: save every function it clears, reset, bring each back and
 * restore it, and on every path write back what is left and read everything back.
 */
export class StepRunner {
  private readonly attempts: StepAttempt[] = [];
  private readonly waits: StepWaitRecord[] = [];
  private readonly notes: string[] = [];
  private readonly restored = new Set<string>();
  private readonly blockedInKernel: Promise<unknown>[] = [];
  private mismatches: RestoreMismatch[] = [];
  /** Functions reset, saved, not answering at the end of the step: revisited after the last wave (lateRestore()). */
  private readonly late = new Map<string, SaveSession>();
  /** Functions reset that were never saved (did not answer before the reset). */
  private readonly unsaved = new Set<string>();
  private ctx: StepContext | null = null;
  private abandoned = false;
  private startedAt = 0;
  private finished: StepReport | null = null;

  constructor(
    private readonly env: ExecEnv,
    readonly step: PlanStep,
    /** Clock time the run started, for `startMs`. */
    private readonly runStart: number,
  ) {}

  /** Kernel operations the step gave up on while they were still blocked: its resources stay reserved until they return. */
  get inKernel(): Promise<unknown>[] {
    return [...this.blockedInKernel];
  }

  /**
   * Committed to a raw reset (or out of D0): its mandated waits and restore run to their end past the
   * deadline, bounded by the waits themselves and the hold's readiness cap. The executor waits for it.
   */
  get holding(): boolean {
    return this.ctx !== null && this.ctx.holding && this.ctx.kernelPending === null && !this.finished;
  }

  /** Waiting for the kernel only (a write or an ioctl made by a helper process), nothing of its own. */
  get waitingOnKernel(): boolean {
    return this.ctx !== null && this.ctx.kernelPending !== null && !this.finished;
  }

  async run(): Promise<StepReport> {
    const { step, env } = this;
    this.startedAt = env.clock.now();
    env.log.info({ event: 'step.start', step: step.id, wave: step.wave, method: step.method, target: step.target, functions: step.functions }, `step ${step.id}: ${step.method} on ${step.target}`);
    // Fresh identity first: the never-reset guard below reads the class now as well (issue 11 item 9).
    const stale = staleIdentity(env, step);
    if (stale) {
      const error = `ESTALE in probe ${stale.bdf}: ${stale.why}`;
      this.attempt(step.method, 'failed', error);
      return this.finish('failed', null, error);
    }
    const refused = neverReset(env, step);
    if (refused) {
      const error = `EPERM in probe ${refused.bdf}: ${refused.why}`;
      this.attempt(step.method, 'failed', error);
      return this.finish('failed', null, error);
    }
    const chain = [...new Set<PlanMethod>([step.method, ...(step.fallbacks ?? [])])];
    let status = 'failed' as StepStatus;
    let error: string | undefined;
    let used: PlanMethod | null = null;
    for (const m of chain) {
      if (this.abandoned) break;
      const impl = methodFor(m);
      if (!impl) {
        this.attempt(m, 'not-supported', `this agent does not know the method ${JSON.stringify(m)}`);
        continue;
      }
      const ctx = new StepContext(env, step, m);
      this.ctx = ctx;
      let why: string | null;
      try {
        why = impl.probe(ctx);
      } catch (err) {
        this.absorb(ctx);
        error = describeFailure(err);
        this.attempt(m, 'failed', error);
        break;
      }
      if (why) {
        this.absorb(ctx);
        this.attempt(m, 'not-supported', why);
        env.log.info({ event: 'step.not_supported', step: step.id, method: m, target: step.target }, `${m} not supported on ${step.target}: ${why}`);
        continue;
      }
      const { result, detail } = await this.tryMethod(impl, ctx);
      this.absorb(ctx);
      this.attempt(m, result, detail);
      if (result === 'ok') {
        status = 'ok';
        used = m;
        error = undefined;
        break;
      }
      error = detail;
      if (result === 'not-supported') continue;
      status = result;
      break;
    }
    if (status !== 'ok' && this.attempts.every((a) => a.result === 'not-supported')) {
      error = `no method in the chain applies: ${this.attempts.map((a) => `${a.method}: ${a.detail}`).join('; ')}`;
    }
    // Issue 12 item 7: a bus reset of functions none of which could be saved (all reading 0xFF before)
    // restored nothing: not `ok`, and each is named.
    const unsaved = [...this.unsaved].filter((b) => step.functions.includes(b));
    if (status === 'ok' && used !== null && unsaved.length > 0 && this.restored.size === 0) {
      status = 'failed';
      error = `ENODEV in save ${unsaved[0]}: reset, but nothing was restored: ${unsaved.join(', ')} did not answer before the reset (not saved) and ${unsaved.length === 1 ? 'is' : 'are'} left at power-on values`;
    }
    return this.finish(status, used, error);
  }

  /**
   * The step is still blocked (in the kernel) when the run must end: put back what must be put back
   * (reset_method) and report it abandoned. Config writes are not attempted: the kernel may be mid-reset.
   */
  abandonNow(reason: string): StepReport {
    if (this.finished) return this.finished;
    this.abandoned = true;
    if (this.ctx) {
      this.ctx.runCleanups();
      this.absorb(this.ctx);
      this.attempt(this.ctx.method, 'abandoned', reason);
    }
    return this.finish('abandoned', null, reason);
  }

  private async tryMethod(impl: ResetMethod, ctx: StepContext): Promise<{ result: AttemptResult; detail?: string }> {
    const { env, step } = this;
    const session = new SaveSession(env.access, (b) => ctx.layout(b));
    ctx.phase = 'save';
    try {
      const clears = [...impl.clears(ctx)];
      // The planner's saveRestore list too, for a raw method: it may know of functions the reset reaches.
      if (clears.length) for (const b of step.saveRestore ?? []) if (!clears.includes(b)) clears.push(b);
      for (const b of clears) {
        try {
          session.save(b);
        } catch (err) {
          // The function the step is about must be saved before anything is written; others below a
          // bridge that do not answer now are reset anyway and reported as left at power-on values.
          if (b === step.target || !(err instanceof MethodError)) throw err;
          ctx.note(`${b} not saved, it will be left at power-on values: ${err.message}`);
          this.unsaved.add(b);
        }
      }
      for (const b of impl.observes(ctx)) {
        const problem = session.observe(b);
        if (problem) ctx.note(`cannot check the kernel's restore of ${b}: ${problem}`);
      }
    } catch (err) {
      return { result: 'failed', detail: describeFailure(err) };
    }
    if (session.savedFunctions.length) env.log.info({ event: 'step.saved', step: step.id, functions: session.savedFunctions }, `saved ${session.savedFunctions.length} function(s)`);

    ctx.phase = 'reset';
    let failure: unknown = null;
    try {
      const outcome = await impl.reset(ctx);
      env.log.info({ event: 'step.reset', step: step.id, method: ctx.method, target: step.target }, `${outcome.reason} done on ${step.target}`);
      await bringUp(ctx, session, outcome);
    } catch (err) {
      failure = err;
    }
    ctx.runCleanups();
    if (this.abandoned) return { result: 'abandoned', detail: 'abandoned at the deadline' };
    if (failure instanceof StillInKernel) {
      // User config access blocks while the kernel resets the function: touch nothing of it any more.
      ctx.note(`${step.target} not restored or checked: the kernel may still be resetting it`);
      return { result: 'failed', detail: failure.message };
    }

    // A deadline before the reset was issued: nothing was reset (Command has read 0x0400 since the quiesce:
    // no decode, no Bus Master); the saved state goes back with Bus Master off. After a raw reset the step
    // holds its mandated waits whatever the deadline, so a deadline there means a function did not answer
    // within the hold: it stays at power-on values (no decode, no Bus Master) and the rest is restored.
    const held = ctx.holding;
    if (failure instanceof DeadlineError) {
      if (!ctx.resetIssued) {
        const q = [...ctx.quiesced];
        ctx.note(`nothing was reset: ${failure.message} (the deadline came before the reset was issued)${q.length ? `; Command of ${q.join(', ')} had been set to 0x0400 (no decode, no Bus Master)` : ''}`);
      } else if (!held) ctx.note(`the kernel was asked to reset, then ${failure.message}`);
    }
    ctx.phase = 'cleanup';
    for (const b of session.unrestored()) {
      if (!answers(env, b)) {
        ctx.note(
          ctx.resetIssued && held
            ? `${b} reset but not restored: it does not answer (left at power-on values: no decode, no Bus Master); revisited before the agent exits`
            : `${b} not restored: it does not answer`,
        );
        // Issue 12 item 4: the kernel would have waited up to 60 s; a function that answers after this
        // step gave up still gets its config back before the agent exits, if the deadline allows.
        if (ctx.resetIssued) this.late.set(b, session);
        continue;
      }
      const r = session.restore(b, failure !== null);
      if (failure !== null) ctx.note(`${b} restored with Bus Master left off after the ${failure instanceof DeadlineError ? 'deadline' : 'failure'}`);
      for (const e of r.errors) ctx.note(`${b} restore: ${e}`);
    }
    ctx.phase = 'verify';
    const v = session.verify();
    this.mismatches.push(...v.mismatches);
    for (const e of v.errors) ctx.note(`read-back failed: ${e}`);
    // A restore that does not read back is a failed step, whoever wrote it (issue 12 item 1): a function
    // left with zero BARs must not be reported `ok`. After the kernel's own restore a bound driver's
    // reset_done() may legitimately change registers: there a difference stays a note.
    // Only what pci_save_state() reads from the hardware and pci_restore_state() writes back whatever the
    // kernel's software state (the header, the PCIe control words, AER) must read back; MSI, MSI-X, ATS,
    // PASID, PRI, TPH, ReBAR and the like are restored from the capture kernel's own state
    // (dev->msi_enabled, dev->ats_enabled, resource sizes…), which legitimately differs from what the
    // crashed kernel left in the registers: a note.
    const kernelLost: RestoreMismatch[] = [];
    for (const d of v.kernelDifferences) {
      const driver = env.topo.device(d.bdf)?.driver ?? null;
      const text = `after the kernel's own restore ${d.bdf} ${d.register} reads 0x${d.actual.toString(16)} (was 0x${d.expected.toString(16)})`;
      if (driver !== null && driver !== 'vfio-pci') ctx.note(`${text}; driver ${driver} is bound (its reset_done() may have changed it)`);
      else if (!KERNEL_RESTORES_FROM_HARDWARE.has(d.group)) ctx.note(`${text}; the kernel restores it from its own state, not the register's`);
      else {
        const { group: _group, ...m } = d;
        kernelLost.push(m);
      }
    }
    this.mismatches.push(...kernelLost);
    for (const m of [...v.mismatches, ...kernelLost]) {
      env.log.warn({ event: 'step.mismatch', step: step.id, ...m }, `${m.bdf} ${m.register} reads 0x${m.actual.toString(16)} after restore, expected 0x${m.expected.toString(16)}`);
    }
    for (const b of session.restored) this.restored.add(b);

    const lost = [...v.mismatches, ...kernelLost];
    if (failure === null && lost.length) {
      const first = lost[0]!;
      const names = lost.slice(0, 4).map((m) => `${m.bdf} ${m.register} reads 0x${m.actual.toString(16)}, expected 0x${m.expected.toString(16)}`);
      const more = lost.length > 4 ? ` and ${lost.length - 4} more` : '';
      const who = kernelLost.includes(first) ? "the kernel's restore did not stick" : 'the restore did not stick';
      return { result: 'failed', detail: `EIO in verify ${first.bdf}: ${who}: ${names.join('; ')}${more}` };
    }
    if (failure === null) return { result: 'ok' };
    if (failure instanceof DeadlineError) return { result: 'abandoned', detail: failure.message };
    if (failure instanceof MethodError && failure.notSupported) return { result: 'not-supported', detail: failure.message };
    return { result: 'failed', detail: describeFailure(failure) };
  }

  /** Functions this step reset and left without their config (so far). */
  get leftUnrestored(): string[] {
    return [...new Set([...this.late.keys(), ...[...this.unsaved].filter((b) => this.step.functions.includes(b))])];
  }

  /** Late functions still waiting for their config, with the step's report to update. */
  get lateFunctions(): string[] {
    return [...this.late.keys()];
  }

  /**
   * One look at each late function: one that answers now gets its config back (Bus Master left off: its
   * step failed) and is read back. Returns the functions restored now. The report is updated in place.
   */
  lateRestore(): string[] {
    const done: string[] = [];
    for (const [b, session] of this.late) {
      if (!answers(this.env, b)) continue;
      this.late.delete(b);
      const r = session.restore(b, true);
      const v = session.verifyOne(b);
      this.restored.add(b);
      done.push(b);
      const text = `${b} answered after its step gave up: restored before exit (Bus Master left off)`;
      const extra = [...r.errors.map((e) => `${b} restore: ${e}`), ...v.errors.map((e) => `read-back failed: ${e}`)];
      this.env.log.info({ event: 'step.restored_late', step: this.step.id, bdf: b }, text);
      if (this.finished) {
        this.finished.notes.push(text, ...extra);
        this.finished.restored = [...this.restored];
        this.finished.restoreMismatches.push(...v.mismatches);
        const left = this.leftUnrestored;
        if (left.length) this.finished.leftUnrestored = left;
        else delete this.finished.leftUnrestored;
      }
    }
    return done;
  }

  private attempt(method: PlanMethod, result: AttemptResult, detail?: string): void {
    this.attempts.push(detail === undefined ? { method, result } : { method, result, detail });
  }

  /** Keep a finished attempt's waits and notes for the step's report. */
  private absorb(ctx: StepContext): void {
    this.blockedInKernel.push(...ctx.inKernel.splice(0));
    for (const w of ctx.waits.splice(0)) {
      const e = this.waits.find((x) => x.what === w.what);
      if (e) e.ms = Math.round((e.ms + w.ms) * 1000) / 1000;
      else this.waits.push({ ...w });
    }
    this.notes.push(...ctx.notes.splice(0));
  }

  private finish(status: StepStatus, used: PlanMethod | null, error: string | undefined): StepReport {
    if (this.finished) return this.finished;
    const { step, env } = this;
    const now = env.clock.now();
    const report: StepReport = {
      id: step.id,
      method: step.method,
      target: step.target,
      functions: [...step.functions],
      status,
      durationMs: round(now - this.startedAt),
      ...(error !== undefined ? { error } : {}),
      restoreMismatches: this.mismatches,
      waits: this.waits,
      wave: step.wave,
      methodUsed: used,
      attempts: this.attempts,
      startMs: round(this.startedAt - this.runStart),
      restored: [...this.restored],
      notes: this.notes,
    };
    const left = this.leftUnrestored;
    if (left.length) report.leftUnrestored = left;
    this.finished = report;
    const level = status === 'ok' ? 'info' : status === 'skipped' ? 'info' : 'error';
    env.log[level]({ event: 'step.end', step: step.id, status, method: used ?? step.method, target: step.target, durationMs: report.durationMs, ...(error ? { error } : {}), mismatches: this.mismatches.length }, `step ${step.id} ${status}${error ? `: ${error}` : ''}`);
    return report;
  }
}

/** One read: does the function answer config cycles right now? */
function answers(env: ExecEnv, bdf: string): boolean {
  try {
    return env.access.readConfigAt(bdf, 0x04, 4) !== 0xffffffff;
  } catch {
    return false;
  }
}

/** A report for a step that never ran. */
export function notRunReport(step: PlanStep, status: 'skipped' | 'abandoned' | 'failed', reason: string, startMs: number): StepReport {
  return {
    id: step.id,
    method: step.method,
    target: step.target,
    functions: [...step.functions],
    status,
    durationMs: 0,
    error: reason,
    restoreMismatches: [],
    waits: [],
    wave: step.wave,
    methodUsed: null,
    attempts: [],
    startMs: round(startMs),
    restored: [],
    notes: [],
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
