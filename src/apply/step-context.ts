import type { ConfigWidth, PciAccess } from '../access/access.js';
import { registerLayout, type RegisterLayout } from '../config/register-layout.js';
import type { PlanMethod, PlanStep } from '../plan/plan.js';
import type { Clock } from '../time/clock.js';
import type { StepWaitRecord } from './apply-report.js';
import type { Deadline } from './deadline.js';
import type { EventLog } from './event-log.js';
import type { ExecTopology } from './exec-topology.js';
import { DeadlineError, MethodError, type StepPhase } from './method-error.js';
import type { VfioBackend } from './methods/vfio-backend.js';

/** Everything a run shares: backend, time, log, topology, deadline. */
export interface ExecEnv {
  access: PciAccess;
  clock: Clock;
  log: EventLog;
  topo: ExecTopology;
  deadline: Deadline;
  /** How long one function may take to answer again after its mandated wait (ms). */
  readyTimeoutMs: number;
  /** VFIO, loaded on first use. */
  vfio: () => Promise<VfioBackend>;
  /** Prefer a bridge's `reset_subordinate` to raw Bridge Control writes when the file exists (default true). */
  preferResetSubordinate?: boolean;
}

/** Polling intervals start at 1 ms and double like pci_dev_wait()'s, but never exceed this (ms). */
export const MAX_POLL_MS = 64;

/**
 * One method's attempt at one step: reads and writes that name the step's phase when they fail, waits
 * that are recorded and cut short by the deadline, and the layout of each function it touches.
 */
export class StepContext {
  readonly waits: StepWaitRecord[] = [];
  readonly notes: string[] = [];
  /** Kernel operations given up on while still blocked (see awaitKernel); they keep the step's resources. */
  readonly inKernel: Promise<unknown>[] = [];
  phase: StepPhase = 'probe';
  /**
   * The write that resets something has been issued. Until then a deadline leaves nothing in a mandated
   * wait, so the step writes back what it saved at once; after it, a function may be inside its wait.
   */
  resetIssued = false;
  /**
   * The step is committed (a raw reset issued, or a function moved out of D0): from here its mandated
   * waits run to their end whatever the deadline, because cutting one leaves functions half-reset (BARs
   * zero, bridges without bus numbers, a function in D3hot). Polls for readiness may run past the deadline
   * until `holdUntil`; everything after is bounded (see holdBudgetMs).
   */
  holding = false;
  /** Clock time until which readiness polls may go on past the deadline (set when the hold begins). */
  holdUntil = -Infinity;
  /** A kernel operation (a write to `reset`, a VFIO ioctl) still running for this step, if any. */
  kernelPending: Promise<unknown> | null = null;
  /** Functions whose Command was set to INTx Disable only before a raw reset (a real reset clears it). */
  readonly quiesced = new Set<string>();
  private readonly layouts = new Map<string, RegisterLayout>();
  private readonly cleanups: (() => void)[] = [];

  constructor(
    readonly env: ExecEnv,
    readonly step: PlanStep,
    /** The method being tried: the step's own or one of its fallbacks. */
    readonly method: PlanMethod,
  ) {}

  get access(): PciAccess {
    return this.env.access;
  }

  get clock(): Clock {
    return this.env.clock;
  }

  get target(): string {
    return this.step.target;
  }

  now(): number {
    return this.env.clock.now();
  }

  /** Throws DeadlineError once the deadline has passed: nothing new is started after it. */
  checkDeadline(before: string): void {
    if (this.env.deadline.expired()) throw new DeadlineError(`${before} (the deadline passed before it was issued)`);
  }

  /**
   * Call right before the write that resets something: after the deadline no reset is started (a slow
   * save or quiesce may have used the time up), and from here on the step may leave functions in a wait.
   */
  beginReset(what: string, kind: 'raw' | 'kernel' = 'raw'): void {
    if (!this.holding) this.checkDeadline(what);
    this.phase = 'reset';
    this.resetIssued = true;
    // The kernel's own resets wait and restore inside the kernel; only a raw reset holds the step.
    if (kind === 'raw') this.beginHold(what);
  }

  /**
   * Commit the step: from the next write on, stopping early would strand a function (half-reset, or in
   * D3hot). Refused after the deadline, like a reset; once holding, mandated waits are never cut.
   */
  beginHold(what: string): void {
    if (this.holding) return;
    this.checkDeadline(what);
    this.holding = true;
    this.holdUntil = this.now() + holdBudgetMs(this.step, this.env.readyTimeoutMs);
  }

  /**
   * A wait the spec or the kernel mandates. Before the step is committed the deadline cuts it short with
   * DeadlineError; once holding (a reset issued) it runs to its end: these waits are fixed and short.
   */
  async wait(what: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    if (this.holding) return this.hold(what, ms);
    const remaining = this.env.deadline.remaining();
    if (remaining <= 0) throw new DeadlineError(what);
    const start = this.now();
    await this.env.clock.sleep(Math.min(ms, remaining));
    this.record(what, this.now() - start);
    if (ms > remaining) throw new DeadlineError(what);
  }

  /** A wait that runs to its end whatever the deadline: the reset pulse, so that a bus is never left in reset. */
  async hold(what: string, ms: number): Promise<void> {
    const start = this.now();
    await this.env.clock.sleep(ms);
    this.record(what, this.now() - start);
  }

  /** One polling interval, added to the `poll:<what>` record. */
  async poll(what: string, ms: number): Promise<void> {
    // Holding, a function may be waited for past the deadline, up to the hold's end.
    const remaining = this.holding ? Math.max(this.env.deadline.remaining(), this.holdUntil - this.now()) : this.env.deadline.remaining();
    if (remaining <= 0) throw new DeadlineError(`poll:${what}`);
    const start = this.now();
    await this.env.clock.sleep(Math.min(ms, remaining));
    this.record(`poll:${what}`, this.now() - start);
  }

  record(what: string, ms: number): void {
    const entry = this.waits.find((w) => w.what === what);
    if (entry) entry.ms = round(entry.ms + ms);
    else this.waits.push({ what, ms: round(ms) });
  }

  /**
   * Something that must happen however the step ends (reset_method put back). Runs from the method's own
   * `finally`, or from the executor when the step is abandoned while blocked in the kernel.
   */
  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  runCleanups(): void {
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch (err) {
        this.note(`cleanup failed: ${(err as Error).message}`);
      }
    }
  }

  note(text: string): void {
    this.notes.push(text);
    this.env.log.info({ event: 'step.note', step: this.step.id, method: this.method, target: this.step.target }, text);
  }

  /** Register layout of a function, from one read of its config space (capability positions do not move). */
  layout(bdf: string): RegisterLayout {
    const known = this.layouts.get(bdf);
    if (known) return known;
    let bytes: Uint8Array | null;
    try {
      bytes = this.access.readConfig(bdf);
    } catch (err) {
      throw MethodError.from(err, this.phase, bdf, 'config read');
    }
    if (bytes === null) throw new MethodError('ENOENT', this.phase, bdf, 'no config file (function gone?)');
    if (bytes.length < 64) throw new MethodError('EIO', this.phase, bdf, `config is ${bytes.length} bytes, the header needs 64 (not running as root?)`);
    const layout = registerLayout(bytes);
    if (!layout) throw new MethodError('ENODEV', this.phase, bdf, 'config reads all-ones: the function does not answer');
    this.layouts.set(bdf, layout);
    return layout;
  }

  read(bdf: string, offset: number, width: ConfigWidth, what: string): number {
    try {
      return this.access.readConfigAt(bdf, offset, width);
    } catch (err) {
      throw MethodError.from(err, this.phase, bdf, `config read of ${what} at 0x${offset.toString(16)}`);
    }
  }

  write(bdf: string, offset: number, width: ConfigWidth, value: number, what: string): void {
    try {
      this.access.writeConfigAt(bdf, offset, width, value);
    } catch (err) {
      throw MethodError.from(err, this.phase, bdf, `config write of ${what} at 0x${offset.toString(16)}`);
    }
  }

  /** A MethodError in the current phase, to throw. */
  error(code: string, bdf: string, detail: string, notSupported = false): MethodError {
    return new MethodError(code, this.phase, bdf, detail, notSupported);
  }

  fail(code: string, bdf: string, detail: string, notSupported = false): never {
    throw this.error(code, bdf, detail, notSupported);
  }
}

/**
 * How long readiness polls of a committed step may run past the deadline (ms) — the cap on readiness
 * once the deadline has passed: a function that needs more than 1 s after its mandated wait is broken
 * or answering RRS, and the dump must not wait for it.
 */
export const HOLD_READY_CAP_MS = 1000;

/** A step's planned waits and quirk delay (ms): what it needs once started, for deadline budgeting. */
export function plannedWaitMs(step: PlanStep): number {
  const waits = (step.waits ?? []).reduce((sum, w) => sum + (Number.isFinite(w.ms) && w.ms > 0 ? w.ms : 0), 0);
  const quirk = Number.isFinite(step.delayAfterMs) && step.delayAfterMs > 0 ? step.delayAfterMs : 0;
  return waits + quirk;
}

/**
 * The hold's budget from the moment the step commits: its planned waits plus readiness capped at
 * HOLD_READY_CAP_MS (and at --ready-timeout). Polls stop at that point even past the deadline; the
 * mandated waits themselves are never cut.
 */
export function holdBudgetMs(step: PlanStep, readyTimeoutMs: number): number {
  return plannedWaitMs(step) + Math.min(readyTimeoutMs, HOLD_READY_CAP_MS);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
