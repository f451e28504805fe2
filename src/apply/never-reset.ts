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

/** What config space says a function is, read now. Null when it cannot tell (read failed, all-ones). */
interface Identity {
  vendor: number;
  device: number;
  classCode: number;
  headerType: number;
}

function readIdentity(env: ExecEnv, bdf: string): Identity | null {
  try {
    const id = env.access.readConfigAt(bdf, 0x00, 4);
    const cls = env.access.readConfigAt(bdf, 0x08, 4);
    const hdr = env.access.readConfigAt(bdf, 0x0c, 4);
    // A function that does not answer tells nothing about who it is; the step's own reads deal with it.
    if (cls === 0xffffffff && hdr === 0xffffffff) return null;
    return { vendor: id & 0xffff, device: id >>> 16, classCode: cls >>> 8, headerType: (hdr >>> 16) & 0x7f };
  } catch {
    return null;
  }
}

/** 24-bit class codes to check against NEVER: the one read now and the scan's (either one forbids). */
function classesOf(env: ExecEnv, bdf: string, fresh: Identity | null): number[] {
  const out: number[] = [];
  if (fresh) out.push(fresh.classCode);
  const known = env.topo.device(bdf)?.class;
  if (known) {
    const n = parseInt(known, 16);
    if (Number.isFinite(n)) out.push(n);
  }
  return out;
}

/**
 * Every function a step may write: its target and functions, the target's VFs, everything below a
 * bridge it resets, and for a `bus` in the chain of a function step the parent bridge and all below it.
 */
export function touchedBy(env: ExecEnv, step: PlanStep): string[] {
  const reached = new Set<string>([step.target, ...step.functions, ...env.topo.vfs(step.target)]);
  for (const b of env.topo.below(step.target)) reached.add(b);
  const chain = [step.method, ...(step.fallbacks ?? [])];
  const parent = env.topo.parent(step.target);
  if (chain.includes('bus') && parent !== null && env.topo.device(step.target)?.headerType !== 1) {
    reached.add(parent);
    for (const b of env.topo.below(parent)) reached.add(b);
  }
  return [...reached];
}

/** The first function the step would reset that must never be reset, with why; null when there is none. */
export function neverReset(env: ExecEnv, step: PlanStep): { bdf: string; why: string } | null {
  for (const bdf of touchedBy(env, step)) {
    const why = neverTouch(env, bdf);
    if (why) return { bdf, why: `${why}; refused whatever the plan says` };
  }
  return null;
}

/**
 * Issue 11 item 9 / issue 12 item 8: the function is not what the plan was made for. Before a step
 * writes anything, vendor, device, class and header type of every function it touches are read again
 * and compared with the scan's; a mismatch (a device swapped or hot-plugged, config rewritten, a forged
 * tree) fails the step with ESTALE. A VF reads 0xFFFF as its IDs by design: then its class and header
 * type tell. A function that does not answer, or one the scan did not read, is not compared.
 */
export function staleIdentity(env: ExecEnv, step: PlanStep): { bdf: string; why: string } | null {
  const hex = (n: number, w: number): string => `0x${n.toString(16).padStart(w, '0')}`;
  for (const bdf of touchedBy(env, step)) {
    const d = env.topo.device(bdf);
    if (!d) continue;
    const now = readIdentity(env, bdf);
    if (!now) continue;
    const diffs: string[] = [];
    const cmp = (what: string, scanned: string | number | null, fresh: number, w: number): void => {
      if (scanned === null) return;
      const was = typeof scanned === 'number' ? scanned : parseInt(scanned, 16);
      if (Number.isFinite(was) && was !== fresh) diffs.push(`${what} ${hex(fresh, w)} (scan: ${hex(was, w)})`);
    };
    const vfIds = d.physfn !== null && now.vendor === 0xffff && now.device === 0xffff;
    if (!vfIds) {
      cmp('vendor', d.vendor, now.vendor, 4);
      cmp('device', d.device, now.device, 4);
    }
    cmp('class', d.class, now.classCode, 6);
    cmp('header type', d.headerType, now.headerType, 2);
    if (diffs.length) return { bdf, why: `${bdf} is not the function the plan was made for: it reads ${diffs.join(', ')} now; nothing written` };
  }
  return null;
}

/** Why a function's Command must not be touched at all (a host bridge, the IOMMU), or null. Read now, and the scan's word too. */
export function neverTouch(env: ExecEnv, bdf: string): string | null {
  for (const cls of classesOf(env, bdf, readIdentity(env, bdf))) {
    const hit = NEVER.find((n) => cls >> 8 === n.base);
    if (hit) return `${bdf} is ${hit.what}`;
  }
  return null;
}
