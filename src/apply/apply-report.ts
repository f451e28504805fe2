/**
 * The executor's report (`run/pci-reset-agent/report.json`, `apply --json`), contract with other tools
 * (issue #5). Names marked contract keep their encodings; the rest are additions.
 */
import type { IommuCase } from '../iommu/iommu-report.js';
import type { PlanMethod } from '../plan/plan.js';

export type StepStatus = 'ok' | 'failed' | 'abandoned' | 'skipped';

export interface RestoreMismatch {
  bdf: string;
  /** Register name and offset, e.g. `BAR0@0x10`, `DevCtl@0x78`. */
  register: string;
  expected: number;
  actual: number;
  /** The bits compared (status and self-clearing bits are not). */
  mask?: number;
}

export interface StepWaitRecord {
  what: string;
  ms: number;
}

/** One method tried on a step: the planned one, then its fallbacks. */
export interface StepAttempt {
  method: PlanMethod;
  /** `ok`, `not-supported` (the next one was tried), `failed`, `abandoned`. */
  result: 'ok' | 'not-supported' | 'failed' | 'abandoned';
  detail?: string;
}

export interface StepReport {
  /** contract */
  id: number;
  /** contract: the method the plan chose (see `methodUsed` for the one that did the reset). */
  method: PlanMethod;
  /** contract */
  target: string;
  /** contract */
  functions: string[];
  /** contract */
  status: StepStatus;
  /** contract */
  durationMs: number;
  /** contract: errno-style code and phase: `EIO in save 0000:03:00.0: config read of BAR0@0x10: …`. */
  error?: string;
  /** contract */
  restoreMismatches: RestoreMismatch[];
  /** Every wait the step spent, mandated or polling, in order. */
  waits: StepWaitRecord[];
  wave: number;
  /** The method that did the reset (a fallback when the planned one was not supported); null when none did. */
  methodUsed: PlanMethod | null;
  attempts: StepAttempt[];
  /** Milliseconds from the start of execution to the start of the step. */
  startMs: number;
  /** Functions whose config space the agent saved and wrote back itself. */
  restored: string[];
  /**
   * Functions the step reset whose config was never written back: not answering by the agent's exit
   * (revisited after the last wave while the deadline allowed), or not saved (not answering before the
   * reset). They are at power-on values: no decode, no Bus Master. Absent when none (issue 12 item 4).
   */
  leftUnrestored?: string[];
  /** Things worth knowing that are not failures: a pending-transaction timeout, a kept-off Bus Master, reset_method put back. */
  notes: string[];
}

export interface ApplySummary {
  ok: number;
  failed: number;
  abandoned: number;
  skipped: number;
  /** Functions in `ok` steps. */
  functionsReset: number;
}

export interface ApplyReport {
  /** contract */
  durationMs: number;
  /** contract */
  steps: StepReport[];
  /** Report format version. */
  schema: 1;
  /** ISO time the run started. */
  startedAt: string;
  root: string;
  /** `sysfs` for a real run, `simulator` for `--simulate`. */
  backend: string;
  /** Time was virtual (`--simulate --virtual-time`): durations are what a real run would take. */
  virtualTime: boolean;
  /** Capture-kernel evidence was found (or assumed with --simulate --assume-capture-kernel). */
  captureKernel: boolean;
  /** No capture kernel and --allow-live given: only functions with no driver (or forced) were reset. */
  live: boolean;
  iommuCase: IommuCase | null;
  deadlineMs: number;
  deadlineReached: boolean;
  readyTimeoutMs: number;
  summary: ApplySummary;
  /** Exit status the command returns for this report (see README). */
  exitStatus: number;
  /** Functions the plan left alone, with the planner's reason. */
  unresettable: { bdf: string; reason: string }[];
  /**
   * Capture kernel: in-scope functions (steps' and `unresettable`) not reset `ok` whose Bus Master Enable
   * reads 0 at the end of the run: DMA stopped (Bus Master cleared), not reset. Empty on a live system.
   */
  busMasterCleared: string[];
  /** The same functions whose Bus Master was left as it was (driver bound, not answering, …), with why. */
  busMasterLeftOn: { bdf: string; reason: string }[];
  excluded: { bdf: string; reason: string }[];
  /** Non-fatal problems of the run (quirk table, IOMMU evidence, kmsg, lock recovery). */
  problems: string[];
  /**
   * Writes to `reset`/`reset_subordinate` still inside the kernel when the run ended (the helper process
   * that made them is killed; the kernel may still finish them): outcome unknown, their steps never `ok`.
   * Empty for a run that waited for every write.
   */
  stillInKernel: { path: string; value: string; forMs: number }[];
}
