import type { PlanMethod } from './plan.js';

/**
 * What a step holds while it runs, for the planner's waves and the executor's overlap check. `own` is
 * held alone: no other step may own or share it meanwhile. `share` is only read: any number of steps may
 * share it, none may own it meanwhile.
 */
export interface Claims {
  own: string[];
  share: string[];
  /**
   * The step may write through the kernel (`reset`, `reset_method`, `reset_subordinate`, VFIO): each such
   * write holds a thread of the kernel-writer helper while the kernel resets (waves.ts counts them).
   */
  thread?: boolean;
}

/** Where functions sit: what the planner's scan and the executor's topology both answer. */
export interface ClaimTopology {
  parent(bdf: string): string | null;
  rootPort(bdf: string): string | null;
  vfs(bdf: string): string[];
}

/** The register-level function resets the agent does itself, with its own save and restore. */
const RAW_FUNCTION_RESETS: ReadonlySet<PlanMethod> = new Set<PlanMethod>(['flr', 'af_flr', 'pm']);

/**
 * Whether a step run by `method` takes a kernel lock on its target's upstream bridge. Writing a function's
 * `reset` runs pci_reset_function() (drivers/pci/pci-sysfs.c:1441, reset_store()), which takes
 * pci_dev_lock() on the upstream bridge for the whole reset (drivers/pci/pci.c:5284-5297); pci_dev_lock()
 * is the device lock plus pci_cfg_access_lock() (pci.c:5078), so meanwhile every user-space config read
 * of the bridge sleeps (pci_wait_cfg(), drivers/pci/access.c:216, from pci_user_read_config_*()) and a second reset below it waits. The
 * agent's own FLR, AF FLR or PM reset writes only the function's registers and takes no kernel lock.
 * VFIO and bus resets are kept as holders (conservative: VFIO's path is not in the kernel sources
 * checked here; a bus reset's target is the bridge itself).
 */
export function locksUpstreamBridge(method: PlanMethod): boolean {
  return !RAW_FUNCTION_RESETS.has(method);
}

/**
 * Whether a step run by `method` (or its bus reset's `reset_subordinate`) may hold a thread for a whole
 * reset: every write the kernel resets through sleeps in the kernel until the reset is done. The agent's
 * own FLR / AF FLR / PM reset holds none: its waits are timers.
 */
export function holdsThread(method: PlanMethod): boolean {
  return !RAW_FUNCTION_RESETS.has(method);
}

/**
 * The claims of a function-level step (target a function, not a bridge being bus-reset): its functions
 * and the target's VFs (an FLR or PM reset of a PF clears VF Enable), owned. Its upstream bridge is
 * owned by a step that resets through the kernel (the kernel locks it, see locksUpstreamBridge), and
 * only shared by the agent's own FLR / AF FLR / PM reset, which reads the Root Port above (RRS Software
 * Visibility, wait-ready.ts) and nothing else upstream: so raw resets of functions below one bridge may
 * overlap each other, never a kernel reset that holds that bridge (its config reads would sleep in
 * the kernel for the whole of the other reset), and never a bus reset of it (which owns the bridge and
 * every function below). Two resets that clear the same function never overlap: functions are owned.
 */
export function functionStepClaims(step: { method: PlanMethod; target: string; functions: string[] }, topo: ClaimTopology): Claims {
  const own = new Set<string>([step.target, ...step.functions, ...topo.vfs(step.target)]);
  const share = new Set<string>();
  const parent = topo.parent(step.target);
  if (parent !== null) {
    if (locksUpstreamBridge(step.method)) own.add(parent);
    else {
      share.add(parent);
      const rp = topo.rootPort(step.target);
      if (rp !== null && rp !== parent) share.add(rp);
    }
  }
  for (const s of share) if (own.has(s)) share.delete(s);
  return { own: [...own], share: [...share], thread: holdsThread(step.method) };
}

/** Whether two steps may not run at the same time: one owns what the other owns or shares. */
export function conflicts(a: Claims, b: Claims): boolean {
  return meets(a.own, b.own) || meets(a.own, b.share) || meets(a.share, b.own);
}

/** What two steps' claims have in common that keeps them apart (for messages). */
export function contested(a: Claims, b: Claims): string[] {
  const bAll = new Set([...b.own, ...b.share]);
  const bOwn = new Set(b.own);
  return [...new Set([...a.own.filter((x) => bAll.has(x)), ...a.share.filter((x) => bOwn.has(x))])];
}

function meets(xs: string[], ys: string[]): boolean {
  if (xs.length === 0 || ys.length === 0) return false;
  const [small, large] = xs.length <= ys.length ? [xs, setOf(ys)] : [ys, setOf(xs)];
  for (const x of small) if (large.has(x)) return true;
  return false;
}

/**
 * The executor's scheduler compares the same claims many times (every pass over an open wave); a Set
 * per list, made once, instead of one per comparison. Claims lists are not changed after they are made.
 */
const sets = new WeakMap<string[], Set<string>>();
function setOf(xs: string[]): Set<string> {
  let s = sets.get(xs);
  if (!s) sets.set(xs, (s = new Set(xs)));
  return s;
}
