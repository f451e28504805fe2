import type { IommuCase, IommuReport } from '../iommu/iommu-report.js';
import type { ScanDevice } from '../scan/scan-result.js';
import { evaluate, fallbacksFor, kernelBusRestoresTooSoon, NO_ACPI, NO_DEVICE_SPECIFIC, resetsVfs, type Evaluation, type Verdict } from './choose-method.js';
import { buildContext, busCheck, quirkNote, type PlanContext, type PlanInput } from './context.js';
import { resetsDisabled } from './kernel-listing.js';
import type { Plan, PlanEntry, PlanMethod, PlanStep } from './plan.js';
import { stepTiming, underlyingMethod } from './waits.js';
import { assignWaves } from './waves.js';
import { functionStepClaims, type Claims, type ClaimTopology } from './claims.js';
import { siblingsToUnlock } from './overlap.js';

export type { PlanInput } from './context.js';
export type { Policy } from './policy.js';

/**
 * The planner: a pure function of the scan, the IOMMU verdict, the quirk table and the policy. Every
 * decision carries its reasons. Every function of the scan appears exactly once across the steps'
 * `functions`, `unresettable` and `excluded`.
 */
export function buildPlan(input: PlanInput): Plan {
  return planWithTrace(input).plan;
}

/** What `explain` shows besides the plan: per function, every candidate method and why it was or was not used. */
export interface PlanTrace {
  plan: Plan;
  ctx: PlanContext;
  evaluations: Map<string, Evaluation>;
  /** Step id of each function the plan resets. */
  stepOf: Map<string, number>;
}

interface Draft {
  method: PlanMethod;
  target: string;
  functions: string[];
  reasons: string[];
  saveRestore: string[];
  fallbacks: PlanMethod[];
  timing: ReturnType<typeof stepTiming>;
  faults: number;
  rank: number;
  /** Functions and bridges the step owns or shares (claims.ts): steps whose claims do not conflict may run concurrently. */
  resources: Claims;
  underlying: string;
  /** A raw FLR in the chain relies on the table's assume=flr (DevCap FLR-). */
  assumeFlr: boolean;
}

export function planWithTrace(input: PlanInput): PlanTrace {
  const ctx = buildContext(input);
  const evaluations = new Map<string, Evaluation>();
  for (const d of ctx.devices) {
    if (!ctx.scope.get(d.bdf)!.inScope) continue;
    const q = ctx.quirks.get(d.bdf)!;
    if (q.skip) continue;
    const ev = evaluate(ctx, d);
    guardVfs(ctx, d, ev);
    evaluations.set(d.bdf, ev);
  }

  const covered = new Map<string, Draft>();
  const drafts: Draft[] = [];

  // Bus resets, one per bridge, largest first so that a bridge below another one already reset is not reset twice.
  const busRequests = new Map<string, string[]>();
  for (const [bdf, ev] of evaluations) {
    if (ev.chosen?.method === 'bus') {
      const list = busRequests.get(ev.chosen.target!) ?? [];
      list.push(bdf);
      busRequests.set(ev.chosen.target!, list);
    }
  }
  const bridges = [...busRequests.keys()].sort((a, b) => ctx.byBdf.get(b)!.below.length - ctx.byBdf.get(a)!.below.length);
  for (const bridge of bridges) {
    if (covered.has(bridge) || [...busRequests.get(bridge)!].every((f) => covered.has(f))) continue;
    const draft = busDraft(ctx, bridge, busRequests.get(bridge)!, evaluations);
    drafts.push(draft);
    for (const f of draft.functions) covered.set(f, draft);
  }

  // Function-level resets; a PF reset by FLR takes its VFs with it, so PFs go before VFs.
  const pfsFirst = [...ctx.devices.filter((d) => d.physfn === null), ...ctx.devices.filter((d) => d.physfn !== null)];
  for (const d of pfsFirst) {
    const ev = evaluations.get(d.bdf);
    if (!ev?.chosen || covered.has(d.bdf) || ev.chosen.method === 'bus') continue;
    const draft = functionDraft(ctx, d, ev, ev.chosen, covered);
    drafts.push(draft);
    for (const f of draft.functions) covered.set(f, draft);
  }
  // Issue 16 item 3: kernel resets below one bridge run one at a time in the kernel, the agent's own do not.
  const unlocks = siblingsToUnlock(ctx, drafts.map((d) => ({ ...d, candidate: evaluations.get(d.target)?.chosen?.candidate })));
  for (const [i, u] of unlocks) {
    const old = drafts[i]!;
    const d = ctx.byBdf.get(old.target)!;
    const ev = evaluations.get(d.bdf)!;
    const chosen = ev.chosen!;
    const capability = chosen.why.split('; ')[0];
    const why = `${capability}; the kernel offers ${u.raw} in reset_method "${(d.resetMethods ?? []).join(' ')}", but its reset file holds ${u.bridge} locked for the whole reset (pci_reset_function() takes pci_dev_lock() on the upstream bridge, drivers/pci/pci.c:5284), so resets below ${u.bridge} through it run one at a time: the agent's own ${u.raw} instead (no driver bound, config saved and restored by the agent, no kernel lock), which runs alongside the ${u.others} other function reset${u.others === 1 ? '' : 's'} below ${u.bridge}; it clears only ${d.bdf}; the kernel's ${old.method} stays the first fallback`;
    drafts[i] = functionDraft(ctx, d, { ...ev, fallbacks: [old.method, ...old.fallbacks.filter((m) => m !== u.raw)] }, { ...chosen, method: u.raw, why }, covered);
  }
  const steps = finish(drafts, input.policy.waveSize);
  const stepOf = new Map<string, number>();
  for (const s of steps) for (const f of s.functions) stepOf.set(f, s.id);

  const unresettable: PlanEntry[] = [];
  const excluded: PlanEntry[] = [];
  for (const d of ctx.devices) {
    if (stepOf.has(d.bdf)) continue;
    const scope = ctx.scope.get(d.bdf)!;
    if (!scope.inScope) {
      excluded.push({ bdf: d.bdf, reason: scope.reason! });
      continue;
    }
    const q = ctx.quirks.get(d.bdf)!;
    if (q.skip) {
      unresettable.push({ bdf: d.bdf, reason: `the table says to leave it alone: ${quirkNote(q.skip)}` });
      continue;
    }
    unresettable.push({ bdf: d.bdf, reason: unresettableReason(d, evaluations.get(d.bdf)!) });
  }
  const plan: Plan = { iommuCase: ctx.planCase, steps, unresettable, excluded, notes: [...ctx.notes, ...iommuNotes(input.iommu)] };
  return { plan, ctx, evaluations, stepOf };
}

/** How the reasons name a PF reset that takes the VFs along. */
const PF_RESET: Record<string, string> = { flr: 'an FLR', af_flr: 'an AF FLR', pm: 'a PM reset (D3hot->D0 with No_Soft_Reset clear)' };

/** Why a VF must not be reset along with its PF, or null. */
function untouchableVf(ctx: PlanContext, vf: string): string | null {
  const s = ctx.scope.get(vf);
  if (s === undefined) return null;
  if (s.protected) return s.reason;
  const q = ctx.quirks.get(vf)!;
  if (q.skip) return `the table says to skip it: ${quirkNote(q.skip)}`;
  return resetsDisabled(ctx.byBdf.get(vf)!);
}

/** A PF reset by FLR or PM loses its VFs too: not allowed when one of them must not be touched. */
function guardVfs(ctx: PlanContext, d: ScanDevice, ev: Evaluation): void {
  if (d.virtfns.length === 0) return;
  let blocker: { vf: string; why: string } | null = null;
  for (const vf of d.virtfns) {
    const why = untouchableVf(ctx, vf);
    if (why !== null) {
      blocker = { vf, why };
      break;
    }
  }
  if (!blocker) return;
  for (const v of ev.verdicts) {
    if (v.ok && v.method !== 'bus' && resetsVfs(d, v)) {
      v.ok = false;
      v.why = `${PF_RESET[underlyingMethod(d, v.method!)] ?? 'a reset'} of this PF would also reset its VF ${blocker.vf} (it clears VF Enable), which must not be touched (${blocker.why})`;
      v.method = null;
    }
  }
  const idx = ev.verdicts.findIndex((v) => v.ok);
  ev.chosen = idx >= 0 ? ev.verdicts[idx]! : null;
  ev.fallbacks = ev.chosen ? fallbacksFor(ctx, d, ev.chosen, ev.verdicts.slice(idx + 1)) : [];
}

/** Why the step's functions need a reset: the IOMMU case of each (they share one almost always). */
function caseReasons(ctx: PlanContext, functions: string[]): string[] {
  const cases = new Set(functions.filter((f) => ctx.scope.get(f)?.inScope).map((f) => ctx.caseOf(f)));
  if (cases.size === 0) cases.add(ctx.planCase);
  return [...cases].map((c) => caseReason(ctx.input.iommu, c));
}

function caseReason(iommu: IommuReport, kase: IommuCase): string {
  switch (kase) {
    case '1':
      return 'IOMMU case 1 (off in both kernels): stray DMA is harmless; reset because --all was given';
    case '2':
      return 'IOMMU case 2 (off before, on now): stale DMA faults until a driver re-initialises the device';
    case '3a':
      return 'IOMMU case 3a (on before, ignored now): the old mappings are invalid, corruption likely';
    case '3b':
      return 'IOMMU case 3b (on before, off now): stale DMA hits raw physical memory';
    case '4':
      return 'IOMMU case 4 (on before and now): stale DMA faults; on some platforms PCI SERR, hangs, failed dumps';
    default:
      return `IOMMU case unknown${iommu.missing.length ? ` (missing: ${iommu.missing.join('; ')})` : ''}: reset what is in scope to be safe`;
  }
}

function iommuNotes(iommu: IommuReport): string[] {
  return iommu.problems.map((p) => `iommu: ${p}`);
}

const RAW_MEMORY_URGENCY = 1_000_000;
const passthroughSets = new WeakMap<IommuReport, Set<string>>();
/** The functions the IOMMU report marks passthrough, computed once per report. */
function passthroughOf(iommu: IommuReport): Set<string> {
  let set = passthroughSets.get(iommu);
  if (!set) {
    set = new Set(iommu.devices.filter((d) => d.passthrough === true).map((d) => d.bdf));
    passthroughSets.set(iommu, set);
  }
  return set;
}

/**
 * Urgency (the sort key of the steps) and its notes. Stray DMA that reaches raw memory comes first: case
 * 3b, and a function the IOMMU report marks `passthrough` (an identity mapping, old or new, lets its DMA
 * through untranslated, like 3b); then functions with DMA faults logged against them.
 */
function faultNote(ctx: PlanContext, functions: string[]): { faults: number; notes: string[] } {
  let faults = 0;
  const notes: string[] = [];
  for (const f of functions) {
    const pt = passthroughOf(ctx.input.iommu).has(f);
    if (pt || ctx.caseOf(f) === '3b') {
      faults += RAW_MEMORY_URGENCY;
      if (pt) notes.push(`${f}: identity (passthrough) mapping: its stray DMA reaches raw memory as in case 3b: reset first`);
    }
    const n = ctx.faults.get(f) ?? 0;
    if (n > 0) {
      faults += n;
      notes.push(`${f}: ${n} DMA fault${n === 1 ? '' : 's'} logged against it: reset first`);
    }
  }
  return { faults, notes };
}

/** `info` quirks and scan problems (a truncated config, a function that vanished) of the step's functions. */
function infoNotes(ctx: PlanContext, functions: string[]): string[] {
  const out: string[] = [];
  for (const f of functions) for (const e of ctx.quirks.get(f)?.info ?? []) out.push(`${f}: ${quirkNote(e)}`);
  for (const f of functions) for (const p of ctx.byBdf.get(f)?.problems ?? []) out.push(`${f}: scan problem: ${p}`);
  return out;
}

function rejected(ev: Evaluation, upTo: Verdict): string[] {
  const out: string[] = [];
  for (const v of ev.verdicts) {
    if (v === upTo || v.candidate === upTo.candidate) break;
    // "The kernel has no device-specific reset" is true of nearly everything: not worth a line.
    if (!v.ok && !(v.candidate === 'device_specific' && v.why === NO_DEVICE_SPECIFIC) && !(v.candidate === 'acpi' && v.why === NO_ACPI)) out.push(`${ev.bdf}: not ${v.candidate}: ${v.why}`);
  }
  return out;
}

function functionDraft(ctx: PlanContext, d: ScanDevice, ev: Evaluation, v: Verdict, covered: Map<string, Draft>): Draft {
  const vfs = resetsVfs(d, v) ? d.virtfns.filter((vf) => ctx.byBdf.has(vf) && !covered.has(vf)) : [];
  const functions = [d.bdf, ...vfs];
  const method = v.method!;
  const raw = !(method === 'kernel' || method === 'vfio' || method.startsWith('kernel:'));
  const timing = stepTiming(ctx, method, d, functions);
  const fault = faultNote(ctx, functions);
  const reasons = [...caseReasons(ctx, functions), ...fault.notes];
  if (ctx.quirks.get(d.bdf)!.prefer) reasons.push(`${d.bdf}: order: ${ev.orderWhy}`);
  reasons.push(...rejected(ev, v));
  reasons.push(`${d.bdf}: ${v.candidate}: ${v.why}`);
  if (vfs.length) {
    const how = raw ? 'the executor restores it and their config' : 'the kernel restores it';
    reasons.push(`also resets its VF${vfs.length === 1 ? '' : 's'} ${vfs.join(', ')}: ${PF_RESET[underlyingMethod(d, method)] ?? 'a reset'} of the PF clears VF Enable (${how}; VF state is lost)`);
  }
  else if (d.virtfns.length && v.method !== 'bus') reasons.push(`its VFs are planned on their own: ${v.candidate} is not known to reset them`);
  reasons.push(...timing.notes, ...infoNotes(ctx, functions));
  reasons.push(raw ? `config space of ${functions.join(', ')} is saved before and restored after` : 'the kernel saves and restores config space around it');
  return {
    method,
    target: d.bdf,
    functions,
    reasons,
    saveRestore: raw ? functions : [],
    fallbacks: ev.fallbacks,
    timing,
    faults: fault.faults,
    rank: ctx.order.get(d.bdf)!,
    resources: functionStepClaims({ method, target: d.bdf, functions }, planTopology(ctx)),
    underlying: underlyingMethod(d, method),
    assumeFlr: !d.flr && d.pcie !== null && ctx.quirks.get(d.bdf)!.assumeFlr !== null && (method === 'flr' || ev.fallbacks.includes('flr')),
  };
}

function busDraft(ctx: PlanContext, bridge: string, requesters: string[], evaluations: Map<string, Evaluation>): Draft {
  const check = busCheck(ctx, bridge);
  const functions = check.radius;
  const bd = ctx.byBdf.get(bridge)!;
  const timing = stepTiming(ctx, 'bus', bd, functions);
  const fault = faultNote(ctx, functions);
  const reasons = [...caseReasons(ctx, functions), ...fault.notes, `${check.why}; Bridge Control bit 6 (Secondary Bus Reset) on ${bridge}`];
  for (const f of requesters) {
    const ev = evaluations.get(f)!;
    reasons.push(...rejected(ev, ev.chosen!));
    const fd = ctx.byBdf.get(f)!;
    if (fd.staleResetMethods.includes('bus')) {
      // Stale because of siblings, or because its config cannot be read at all (issue 12 item 7).
      const why = fd.sameBus.length > 0 ? 'the kernel lists bus but would refuse it at reset time (other functions on its bus)' : fd.headerType === null ? `${f} does not answer config reads (all 0xFF): the kernel's bus through its reset file could not be judged` : 'the kernel lists bus but it would fail';
      reasons.push(`${f}: ${why}: done on the bridge instead`);
    }
  }
  for (const f of functions) {
    const ev = evaluations.get(f);
    if (ev?.chosen && ev.chosen.method !== 'bus') reasons.push(`${f} would have used ${ev.chosen.method}; the bus reset resets it anyway`);
  }
  const soon = kernelBusRestoresTooSoon(ctx, bridge);
  if (soon) reasons.push(`raw Bridge Control reset, never ${bridge}'s reset_subordinate: ${soon}`);
  reasons.push(...timing.notes, ...infoNotes(ctx, [bridge, ...functions]));
  reasons.push(`config space of all ${functions.length} function${functions.length === 1 ? '' : 's'} below ${bridge} is saved before and restored after`);
  return {
    method: 'bus',
    target: bridge,
    functions,
    reasons,
    saveRestore: functions,
    fallbacks: [],
    timing,
    faults: fault.faults,
    rank: ctx.order.get(bridge)!,
    resources: { own: [bridge, ...functions], share: [] },
    underlying: 'bus',
    assumeFlr: false,
  };
}

const topologies = new WeakMap<PlanContext, ClaimTopology>();
/** The scan's topology as claims.ts asks for it (the executor answers the same from ExecTopology). */
function planTopology(ctx: PlanContext): ClaimTopology {
  let t = topologies.get(ctx);
  if (!t) {
    const parent = (b: string): string | null => ctx.byBdf.get(b)?.parent ?? null;
    t = {
      parent,
      vfs: (b) => [...(ctx.byBdf.get(b)?.virtfns ?? [])],
      // pcie_find_root_port(): the first Root Port above.
      rootPort: (b) => {
        let p = parent(b);
        for (let depth = 0; p !== null && depth < 256; depth++) {
          if (ctx.byBdf.get(p)?.pcieType === 'root_port') return p;
          p = parent(p);
        }
        return null;
      },
    };
    topologies.set(ctx, t);
  }
  return t;
}

/** Order (faulting first, then lspci order), waves, ids. */
function finish(drafts: Draft[], waveSize: number | undefined): PlanStep[] {
  const byPriority = [...drafts].sort((a, b) => b.faults - a.faults || a.rank - b.rank);
  const waves = assignWaves(byPriority.map((d) => d.resources), waveSize);
  const ordered = byPriority.map((d, i) => ({ d, wave: waves[i]!, i })).sort((a, b) => a.wave - b.wave || a.i - b.i);
  const steps: PlanStep[] = ordered.map(({ d, wave }, idx) => ({
    id: idx + 1,
    method: d.method,
    target: d.target,
    functions: d.functions,
    independentOf: [],
    wave,
    reasons: d.reasons,
    saveRestore: d.saveRestore,
    waits: d.timing.waits,
    delayAfterMs: d.timing.delayAfterMs,
    d3hotDelayMs: d.timing.d3hotDelayMs,
    fallbacks: d.fallbacks,
    underlying: d.underlying,
    ...(d.assumeFlr ? { assumeFlr: true } : {}),
  }));
  // Steps of one wave share no function or bridge: each may run concurrently with the rest of its wave.
  const byWave = new Map<number, number[]>();
  for (const s of steps) {
    const list = byWave.get(s.wave) ?? [];
    list.push(s.id);
    byWave.set(s.wave, list);
  }
  for (const s of steps) s.independentOf = byWave.get(s.wave)!.filter((id) => id !== s.id);
  return steps;
}

function unresettableReason(d: ScanDevice, ev: Evaluation): string {
  const parts = ev.verdicts.map((v) => `${v.candidate}: ${v.why}`);
  const problems = d.problems.length ? ` (scan problems: ${d.problems.join('; ')})` : '';
  return `no safe reset method${problems}: ${parts.join('; ')}`;
}
