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
  phase: StepPhase = 'probe';
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

  /** A wait the spec or the kernel mandates. The deadline cuts it short with DeadlineError. */
  async wait(what: string, ms: number): Promise<void> {
    if (ms <= 0) return;
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
    const remaining = this.env.deadline.remaining();
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

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
