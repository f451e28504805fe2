import type { PlanContext } from './context.js';
import { locksUpstreamBridge } from './claims.js';
import type { PlanMethod } from './plan.js';

/** What the decision needs of a step draft. */
export interface OverlapDraft {
  method: PlanMethod;
  target: string;
  functions: string[];
  fallbacks: PlanMethod[];
  /** The register-level reset the step comes to (`flr` for `kernel` on a function whose chain starts with flr). */
  underlying: string;
  /** The candidate the method was chosen as (`flr`, or a table preference such as `kernel`). */
  candidate?: string;
}

/** A kernel-form step to be run as the agent's own reset instead, and why. */
export interface Unlock {
  raw: 'flr' | 'af_flr' | 'pm';
  bridge: string;
  /** How many other steps below the bridge can then overlap with it. */
  others: number;
}

const RAW = new Set(['flr', 'af_flr', 'pm']);

/**
 * Issue 16 item 3. Resets through the kernel's `reset` file of functions below one bridge run one after
 * another, whatever the plan says: pci_reset_function() holds pci_dev_lock() on the upstream bridge for
 * the whole reset (drivers/pci/pci.c:5284-5297), so an 8-function device below one port takes 8 times
 * the reset's mandated wait, and the planner puts such steps in separate waves. The agent's own FLR, AF
 * FLR or PM reset takes no kernel lock (claims.ts), so where two or more steps below one bridge could be
 * register-level resets the agent is allowed to do, they become that, with the kernel's form first among
 * the fallbacks, and run together.
 *
 * A step qualifies only when the kernel would do the very same register-level reset (its method is a
 * kernel form whose underlying reset is flr, af_flr or pm: the chain starts with it, or it is selected in
 * reset_method) and the raw form is already one of the step's fallbacks, which the planner offers only
 * when nothing rules it out (fallbacksFor(): config read in full, the kernel's listing does not omit it,
 * no driver bound, see raw-safety.ts); and when the step resets one function that has no VFs (SR-IOV
 * state is left to the kernel). Each such step still owns its own function: two resets that clear the
 * same function never overlap, and a bus reset of the bridge (which owns it and all below) never overlaps
 * any of them.
 */
export function siblingsToUnlock(ctx: PlanContext, drafts: OverlapDraft[]): Map<number, Unlock> {
  const byBridge = new Map<string, { i: number; raw: Unlock['raw'] | null }[]>();
  drafts.forEach((d, i) => {
    const dev = ctx.byBdf.get(d.target);
    const bridge = dev?.parent ?? null;
    if (!dev || bridge === null || d.functions.length !== 1 || d.functions[0] !== d.target) return;
    let raw: Unlock['raw'] | null = null;
    if (!locksUpstreamBridge(d.method)) raw = null; // already the agent's own reset: it counts, nothing to change
    else if (d.method === 'vfio' || d.method === 'bus') return;
    // A table preference for the kernel (prefer=kernel…) is kept: only the planner's own choice of the kernel's form changes.
    else if (RAW.has(d.underlying) && d.candidate === d.underlying && d.fallbacks.includes(d.underlying as PlanMethod) && dev.virtfns.length === 0) raw = d.underlying as Unlock['raw'];
    else return;
    const list = byBridge.get(bridge) ?? [];
    list.push({ i, raw });
    byBridge.set(bridge, list);
  });
  const out = new Map<number, Unlock>();
  for (const [bridge, list] of byBridge) {
    if (list.length < 2) continue;
    for (const { i, raw } of list) if (raw !== null) out.set(i, { raw, bridge, others: list.length - 1 });
  }
  return out;
}
