/**
 * The executor's report (`run/pci-reset-agent/report.json`, `apply --json`), contract with other tools
 * (issue #5). Names marked contract keep their encodings.
 */
import type { PlanMethod } from '../plan/plan.js';

export type StepStatus = 'ok' | 'failed' | 'abandoned' | 'skipped';

export interface RestoreMismatch {
  bdf: string;
  /** Register name and offset, e.g. `BAR0@0x10`, `DevCtl@0x78`. */
  register: string;
  expected: number;
  actual: number;
}

export interface StepWaitRecord {
  what: string;
  ms: number;
}

export interface StepReport {
  id: number;
  method: PlanMethod;
  target: string;
  functions: string[];
  status: StepStatus;
  durationMs: number;
  /** errno-style code and phase: `EIO in save 0000:03:00.0 config read at 0x10`. */
  error?: string;
  restoreMismatches: RestoreMismatch[];
  waits: StepWaitRecord[];
}

export interface ApplyReport {
  durationMs: number;
  steps: StepReport[];
}
