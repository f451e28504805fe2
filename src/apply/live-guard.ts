import type { Plan } from '../plan/plan.js';
import type { ScanResult } from '../scan/scan-result.js';

export interface GuardOptions {
  /** Capture-kernel evidence (the IOMMU report's verdict: /proc/vmcore, elfcorehdr=, …). */
  captureKernel: boolean;
  allowLive: boolean;
  /** BDFs to reset on a live system even with a driver bound. */
  force: string[];
}

export type GuardDecision =
  | { kind: 'refuse'; message: string }
  | { kind: 'run'; live: boolean; skip: Map<number, string>; notes: string[] };

/**
 * On a live system a reset pulls a device out from under its driver: refuse the whole run unless
 * --allow-live, and then skip every step that would reset a function with a bound driver, unless each
 * such function is named with --force. In a capture kernel everything in the plan runs.
 */
export function guardPlan(plan: Plan, scan: ScanResult, o: GuardOptions): GuardDecision {
  const notes: string[] = [];
  if (o.captureKernel) {
    if (o.force.length) notes.push('--force has no effect in a capture kernel: every planned step runs');
    return { kind: 'run', live: false, skip: new Map(), notes };
  }
  if (!o.allowLive) {
    return {
      kind: 'refuse',
      message:
        'no capture-kernel evidence (no /proc/vmcore, no elfcorehdr=): apply resets nothing on a live system. ' +
        'To rehearse a kdump run here: --simulate --assume-capture-kernel; to reset functions with no driver bound: ' +
        '--allow-live (--force BDF for others). `plan` shows what a kdump run would do.',
    };
  }
  const driver = new Map(scan.devices.map((d) => [d.bdf, d.driver]));
  const skip = new Map<number, string>();
  for (const s of plan.steps) {
    const bound = s.functions.filter((f) => driver.get(f) && !o.force.includes(f));
    if (bound.length) {
      const list = bound.map((f) => `${f} (${driver.get(f)})`).join(', ');
      skip.set(s.id, `live system: ${list} ${bound.length === 1 ? 'has a driver' : 'have drivers'} bound; pass --force ${bound.join(' ')} to reset anyway`);
    }
  }
  notes.push(`live system (--allow-live): ${skip.size} of ${plan.steps.length} step(s) skipped for bound drivers`);
  return { kind: 'run', live: true, skip, notes };
}
