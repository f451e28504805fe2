import type { PlanStep } from '../plan/plan.js';
import type { ExecEnv } from './step-context.js';

/**
 * Functions no step may reset, whatever the plan says: the planner leaves them out of scope, and the
 * executor checks again, so that a planner defect or a hand-made plan cannot reach them.
 */
const NEVER: readonly { base: number; what: string }[] = [
  { base: 0x0600, what: 'a host bridge (class 0600): resetting it takes the root complex down' },
  { base: 0x0806, what: 'the IOMMU (class 0806): resetting it drops every translation the capture kernel uses' },
];

/** 24-bit class code: the scan's, or read now for a function the scan does not know. */
function classOf(env: ExecEnv, bdf: string): number | null {
  const known = env.topo.device(bdf)?.class;
  if (known) {
    const n = parseInt(known, 16);
    if (Number.isFinite(n)) return n;
  }
  try {
    const v = env.access.readConfigAt(bdf, 0x08, 4);
    return v === 0xffffffff ? null : v >>> 8;
  } catch {
    return null;
  }
}

/** The first function the step would reset that must never be reset, with why; null when there is none. */
export function neverReset(env: ExecEnv, step: PlanStep): { bdf: string; why: string } | null {
  const reached = new Set<string>([step.target, ...step.functions, ...env.topo.vfs(step.target)]);
  if (step.method === 'bus') for (const b of env.topo.below(step.target)) reached.add(b);
  for (const bdf of reached) {
    const cls = classOf(env, bdf);
    const hit = cls === null ? undefined : NEVER.find((n) => cls >> 8 === n.base);
    if (hit) return { bdf, why: `${bdf} is ${hit.what}; refused whatever the plan says` };
  }
  return null;
}

/** Why a function's Command must not be touched at all (a host bridge, the IOMMU), or null. */
export function neverTouch(env: ExecEnv, bdf: string): string | null {
  const cls = classOf(env, bdf);
  const hit = cls === null ? undefined : NEVER.find((n) => cls >> 8 === n.base);
  return hit ? `${bdf} is ${hit.what}` : null;
}
