import { Prng } from '../fuzz/prng.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IommuCase } from '../../src/iommu/iommu-report.js';
import { generatedFunctions, generatedTree } from '../../src/mock/examples/generated.js';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { planWithTrace, type Policy } from '../../src/plan/build-plan.js';
import type { PlanStep } from '../../src/plan/plan.js';
import { isBridge } from '../../src/plan/scope.js';
import { lookup, subjectOfDevice } from '../../src/quirks/match.js';
import type { ScanDevice, ScanResult } from '../../src/scan/scan-result.js';
import { cleanup, iommu, scanTree, tableWith } from './helpers.js';

afterAll(cleanup);

/** The fuzz harness's seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}

const LISTABLE = ['device_specific', 'flr', 'af_flr', 'pm', 'bus', 'cxl_bus'];

/**
 * The generated machine as a capture kernel can find it: some ports hot-plug capable, some root ports
 * CXL ports (SBR masked or not), built-in drivers bound here and there (vfio-pci too), and kernel
 * listings an administrator or a newer quirk cut down (some to nothing).
 */
function kdumpMachine(count: number, seed: number): MockTree {
  const r = rng(seed);
  const fns = generatedFunctions(count).map((f): MockFunction => {
    if (f.bridge && f.pcie && (f.pcie.type === 'root_port' || f.pcie.type === 'downstream_port')) {
      const out: MockFunction = { ...f, pcie: { ...f.pcie, hotPlug: r() < 0.3 } };
      if (f.pcie.type === 'root_port' && r() < 0.3) out.cxlPort = { unmaskSbr: r() < 0.5 };
      return out;
    }
    if (f.bridge || f.classCode >> 16 === 0x06) return f;
    const out: MockFunction = { ...f };
    // Some PFs without FLR but with a PM reset, which takes their VFs along too.
    if (f.sriov && f.pcie && r() < 0.5) Object.assign(out, { pcie: { ...f.pcie, flr: false }, pm: {} });
    const d = r();
    out.driver = d < 0.4 ? f.driver : d < 0.85 ? undefined : 'vfio-pci';
    const l = r();
    if (l < 0.08) out.resetMethod = [];
    else if (l < 0.3) out.resetMethod = LISTABLE.filter(() => r() < 0.5);
    return out;
  });
  return new MockTree().addAll(fns);
}

let base: ScanResult;
let kdump: ScanResult;
beforeAll(() => {
  base = scanTree(generatedTree(1200));
  kdump = scanTree(kdumpMachine(600, 7));
});

const ACTIONS = ['no_flr', 'no_pm', 'no_bus', 'skip', 'no_dma', 'prefer=bus', 'prefer=pm,flr', 'prefer=kernel', 'prefer=af_flr', 'prefer=vfio', 'wait=5ms', 'd3hot=30ms', 'assume=flr'];
const CASES: IommuCase[] = ['2', '3a', '3b', '4', 'unknown', '1'];

function randomInputs(base: ScanResult, seed: number): { tableText: string; policy: Policy; kase: IommuCase; faults: Record<string, number> } {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ids = [...new Set(base.devices.map((d) => `${d.vendor}:${d.device}`))];
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const id = pick(ids);
    const acts = new Set<string>();
    const k = 1 + Math.floor(r() * 2);
    for (let j = 0; j < k; j++) acts.add(pick(ACTIONS));
    // skip, no_dma and prefer= are alternatives in one entry.
    const what = [...acts].filter((a) => a === 'skip' || a === 'no_dma' || a.startsWith('prefer='));
    for (const w of what.slice(1)) acts.delete(w);
    lines.push(`${id} ${[...acts].join(' ')} reason="property test ${seed}/${i}"`);
  }
  const bdfs = base.devices.map((d) => d.bdf);
  const policy: Policy = {};
  const roll = r();
  if (roll < 0.3) policy.exclude = [pick(bdfs), pick(bdfs)];
  else if (roll < 0.45) policy.only = [pick(['class=02', 'class=0108', '8086:*', '1002:*'])];
  if (r() < 0.5) policy.all = true;
  policy.waveSize = pick([1, 3, 8, 32]);
  const faults: Record<string, number> = {};
  for (let i = 0; i < 3; i++) faults[pick(bdfs)] = 1 + Math.floor(r() * 5);
  return { tableText: lines.join('\n'), policy, kase: pick(CASES), faults };
}

/** A driver a raw reset would pull the device out from under (vfio-pci has no user; pcieport on a bridge is not reset). */
function boundDriver(d: ScanDevice): boolean {
  return d.driver !== null && d.driver !== 'vfio-pci' && !(d.driver === 'pcieport' && isBridge(d));
}

const RAW = new Set(['flr', 'af_flr', 'pm', 'bus']);

/**
 * What a raw reset run as method `m` of step s (a fallback `bus` resets the target's parent bridge) may
 * never do: reset below a hot-plug or CXL port, under a bound driver, a method the kernel's listing
 * omits, or a function whose listing is empty or omits bus where the kernel would list it.
 */
function checkRaw(byBdf: Map<string, ScanDevice>, s: PlanStep, m: string, assumeFlr: boolean): void {
  const t = byBdf.get(s.target)!;
  const where = `step ${s.id} ${m} on ${s.target}`;
  if (m === 'bus') {
    const bridge = isBridge(t) ? t : byBdf.get(t.parent!)!;
    expect(bridge.pcie?.hotPlugCapable ?? false, `${where}: raw bus reset of hot-plug port ${bridge.bdf}`).toBe(false);
    expect(bridge.cxlPortDvsec, `${where}: raw bus reset of CXL port ${bridge.bdf}`).toBeNull();
    for (const f of bridge.below) {
      const fd = byBdf.get(f)!;
      expect(isBridge(fd) && fd.pcie?.hotPlugCapable === true, `${where}: hot-plug port ${f} below`).toBe(false);
      expect(boundDriver(fd), `${where}: ${f} has ${fd.driver} bound`).toBe(false);
      expect(fd.resetMethods, `${where}: ${f} has resets disabled`).not.toEqual([]);
      if (fd.resetMethods !== null && fd.inferredResetMethods.includes('bus')) expect(fd.resetMethods, `${where}: ${f}'s listing omits bus`).toContain('bus');
    }
    return;
  }
  const reset = m === 'flr' || m === 'af_flr' || m === 'pm' ? [t, ...t.virtfns.filter((v) => byBdf.has(v)).map((v) => byBdf.get(v)!)] : [t];
  for (const fd of reset) expect(boundDriver(fd), `${where}: ${fd.bdf} has ${fd.driver} bound`).toBe(false);
  // Left out of a readable listing only where the bits do not show it either (the table's assume=flr).
  if (t.resetMethods !== null && !t.resetMethods.includes(m)) expect(m === 'flr' && !t.flr && assumeFlr, `${where}: the kernel's listing omits ${m}`).toBe(true);
}

function checkPlan(base: ScanResult, seed: number): void {
  const inp = randomInputs(base, seed);
  const table = tableWith(inp.tableText);
  const { plan, ctx } = planWithTrace({ scan: base, iommu: iommu(inp.kase, inp.faults), quirks: table, policy: inp.policy });
  const byBdf = new Map(base.devices.map((d) => [d.bdf, d]));
  const eff = (bdf: string) => lookup(table, subjectOfDevice(byBdf.get(bdf)!)).effective;

  // Every function of the scan exactly once across steps, unresettable and excluded.
  const all = [...plan.steps.flatMap((s) => s.functions), ...plan.unresettable.map((e) => e.bdf), ...plan.excluded.map((e) => e.bdf)];
  expect(all.length).toBe(base.devices.length);
  expect(new Set(all).size).toBe(all.length);

  // Every in-scope function gets exactly one step or an unresettable verdict; nothing out of scope is reset
  // except bridges and no_dma functions below a bus reset.
  const inSteps = new Set(plan.steps.flatMap((s) => s.functions));
  const unres = new Set(plan.unresettable.map((e) => e.bdf));
  for (const d of base.devices) {
    const sc = ctx.scope.get(d.bdf)!;
    if (sc.inScope) expect(inSteps.has(d.bdf) || unres.has(d.bdf), d.bdf).toBe(true);
    else {
      expect(unres.has(d.bdf)).toBe(false);
      if (inSteps.has(d.bdf)) expect(sc.protected, `${d.bdf} (${sc.reason}) reset while protected`).toBe(false);
    }
  }

  for (const s of plan.steps) {
    const t = byBdf.get(s.target)!;
    if (s.method === 'bus') {
      // A bus reset covers exactly what is below its bridge, and nothing there (nor the bridge) forbids it.
      expect(isBridge(t)).toBe(true);
      expect(s.functions).toEqual(t.below);
      expect(eff(t.bdf).noBus).toEqual([]);
      expect(ctx.scope.get(t.bdf)!.protected).toBe(false);
      for (const f of s.functions) {
        expect(eff(f).noBus, `${f} forbids bus reset`).toEqual([]);
        expect(eff(f).skip, `${f} says skip`).toBeNull();
        expect(ctx.scope.get(f)!.protected, `${f} is out of scope`).toBe(false);
      }
      expect(s.saveRestore).toEqual(s.functions);
      continue;
    }
    // Never FLR or PM a bridge; never a method the capability bits or quirks rule out.
    expect(isBridge(t)).toBe(false);
    const q = eff(t.bdf);
    expect(q.skip).toBeNull();
    const m = s.underlying!;
    const viaKernel = s.method !== 'flr' && s.method !== 'af_flr' && s.method !== 'pm';
    if (m === 'flr' || m === 'af_flr') expect(q.noFlr, `${t.bdf} ${s.method}`).toEqual([]);
    if (m === 'pm') expect(q.noPm, `${t.bdf} ${s.method}`).toEqual([]);
    if (s.method === 'flr') expect(t.flr || (q.assumeFlr !== null && t.pcie !== null)).toBe(true);
    if (s.method === 'af_flr') expect(t.afFlr).toBe(true);
    if (s.method === 'pm') expect(t.pm !== null && !t.pm.noSoftReset).toBe(true);
    if (viaKernel) {
      expect(t.resetFile).toBe(true);
      expect(t.resetMethods ?? []).toContain(m);
    }
    if (m === 'bus' || m === 'cxl_bus') expect(s.functions).toEqual([t.bdf]);
    // Functions besides the target are its VFs (an FLR of the PF resets them).
    for (const f of s.functions.slice(1)) expect(byBdf.get(f)!.physfn).toBe(t.bdf);
    for (const f of s.functions) {
      expect(eff(f).skip).toBeNull();
      expect(ctx.scope.get(f)!.protected).toBe(false);
    }
  }

  // Steps of one wave share no function; a bridge is held alone by a step that resets through the kernel
  // (pci_reset_function() locks the upstream bridge) or resets the bridge's bus, and only read by the
  // agent's own FLR / AF FLR / PM reset (its upstream bridge and Root Port), which may overlap each other
  // (issue 16 item 3). independentOf is that wave, symmetric.
  const rawFn = (s: (typeof plan.steps)[number]): boolean => s.method === 'flr' || s.method === 'af_flr' || s.method === 'pm';
  const rootOf = (bdf: string): string | null => {
    for (let p = byBdf.get(bdf)?.parent ?? null; p !== null; p = byBdf.get(p)?.parent ?? null) if (byBdf.get(p)?.pcieType === 'root_port') return p;
    return null;
  };
  const res = (s: (typeof plan.steps)[number]): Set<string> => {
    const t = byBdf.get(s.target)!;
    return new Set([...s.functions, s.target, ...t.virtfns, ...(s.method !== 'bus' && !rawFn(s) && t.parent ? [t.parent] : [])]);
  };
  const reads = (s: (typeof plan.steps)[number]): Set<string> => {
    const t = byBdf.get(s.target)!;
    return new Set(rawFn(s) ? [t.parent, rootOf(t.bdf)].filter((x): x is string => x !== null) : []);
  };
  const clash = (a: (typeof plan.steps)[number], b: (typeof plan.steps)[number]): boolean => {
    const ra = res(a);
    const rb = res(b);
    return [...ra].some((r) => rb.has(r) || reads(b).has(r)) || [...reads(a)].some((r) => rb.has(r));
  };
  const byWave = new Map<number, typeof plan.steps>();
  for (const s of plan.steps) byWave.set(s.wave, [...(byWave.get(s.wave) ?? []), s]);
  for (const steps of byWave.values()) {
    // At most waveSize steps that reset through the kernel (each holds a thread), 4 × waveSize in all.
    expect(steps.length).toBeLessThanOrEqual(4 * inp.policy.waveSize!);
    expect(steps.filter((s) => !rawFn(s)).length).toBeLessThanOrEqual(inp.policy.waveSize!);
    for (let i = 0; i < steps.length; i++) {
      for (let j = 0; j < i; j++) expect(clash(steps[i]!, steps[j]!), `steps ${steps[j]!.id} and ${steps[i]!.id} of wave ${steps[i]!.wave} hold the same function or bridge`).toBe(false);
      const s = steps[i]!;
      expect(s.independentOf.sort((a, b) => a - b)).toEqual(steps.filter((o) => o.id !== s.id).map((o) => o.id));
    }
  }
  // Ids are the execution order: waves ascending.
  plan.steps.forEach((s, i) => {
    expect(s.id).toBe(i + 1);
    if (i > 0) expect(s.wave).toBeGreaterThanOrEqual(plan.steps[i - 1]!.wave);
  });
  // Faulting functions go first: a faulting step is in wave 1 unless the wave before is full or holds
  // another faulting step it shares something with.
  const faulty = plan.steps.filter((s) => s.functions.some((f) => (inp.faults[f] ?? 0) > 0));
  for (const s of faulty) {
    if (s.wave === 1) continue;
    const prev = byWave.get(s.wave - 1)!;
    const full = prev.length === 4 * inp.policy.waveSize! || (!rawFn(s) && prev.filter((o) => !rawFn(o)).length === inp.policy.waveSize);
    expect(full || faulty.some((o) => o.wave === s.wave - 1 && clash(o, s))).toBe(true);
  }

  // Raw resets (steps and fallbacks) never go below hot-plug or CXL ports, under bound drivers, or
  // against the kernel's listing; kernel forms stay within it.
  for (const s of plan.steps) {
    const t = byBdf.get(s.target)!;
    const assumeFlr = eff(t.bdf).assumeFlr !== null;
    if (RAW.has(s.method)) checkRaw(byBdf, s, s.method, assumeFlr);
    for (const m of s.fallbacks) if (RAW.has(m)) checkRaw(byBdf, s, m, assumeFlr);
    for (const f of s.functions) expect(byBdf.get(f)!.resetMethods, `${f} has resets disabled but step ${s.id} resets it`).not.toEqual([]);
    // Below a CXL port the kernel's bus is used only by a kernel that knows cxl_bus (and so that SBR can be masked).
    if (s.method !== 'bus' && s.underlying === 'bus' && t.parent && byBdf.get(t.parent)!.cxlPortDvsec !== null) expect(t.resetMethods).toContain('cxl_bus');
    // A PF's FLR or PM reset takes its VFs along: they are in the step.
    if (s.method !== 'bus' && ['flr', 'af_flr', 'pm'].includes(s.underlying!)) {
      for (const v of t.virtfns) if (byBdf.has(v)) expect(s.functions, `${v} is reset by step ${s.id} of its PF`).toContain(v);
    }
  }
  // A function whose kernel listing is empty is never reset: unresettable or out of scope.
  for (const d of base.devices) {
    if (d.resetMethods?.length === 0 && ctx.scope.get(d.bdf)!.inScope) expect(unres.has(d.bdf), d.bdf).toBe(true);
  }
}

describe('planner properties on a generated machine (1,200 functions, random tables and policies)', () => {
  for (let seed = 1; seed <= 20; seed++) it(`seed ${seed}`, () => checkPlan(base, seed));
});

describe('planner properties on a capture kernel\'s view of it (600 functions: hot-plug and CXL ports, bound drivers, cut-down listings)', () => {
  it('the machine has what the properties are about', () => {
    const ds = kdump.devices;
    expect(ds.some((d) => d.pcie?.hotPlugCapable)).toBe(true);
    expect(ds.some((d) => d.cxlPortDvsec !== null)).toBe(true);
    expect(ds.some((d) => d.resetMethods?.length === 0)).toBe(true);
    expect(ds.some((d) => !isBridge(d) && d.driver !== null && d.driver !== 'vfio-pci')).toBe(true);
    expect(ds.some((d) => d.virtfns.length > 0 && !d.flr && d.pm !== null && !d.pm.noSoftReset)).toBe(true);
  });
  for (let seed = 1; seed <= 10; seed++) it(`seed ${seed}`, () => checkPlan(kdump, seed));
});
