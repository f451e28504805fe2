import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IommuCase } from '../../src/iommu/iommu-report.js';
import { generatedTree } from '../../src/mock/examples/generated.js';
import { planWithTrace, type Policy } from '../../src/plan/build-plan.js';
import { isBridge } from '../../src/plan/scope.js';
import { lookup, subjectOfDevice } from '../../src/quirks/match.js';
import type { ScanResult } from '../../src/scan/scan-result.js';
import { cleanup, iommu, scanTree, tableWith } from './helpers.js';

afterAll(cleanup);

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let base: ScanResult;
beforeAll(() => {
  base = scanTree(generatedTree(1200));
});

const ACTIONS = ['no_flr', 'no_pm', 'no_bus', 'skip', 'no_dma', 'prefer=bus', 'prefer=pm,flr', 'prefer=kernel', 'prefer=af_flr', 'prefer=vfio', 'wait=5ms', 'd3hot=30ms', 'assume=flr'];
const CASES: IommuCase[] = ['2', '3a', '3b', '4', 'unknown', '1'];

function randomInputs(seed: number): { tableText: string; policy: Policy; kase: IommuCase; faults: Record<string, number> } {
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

describe('planner properties on a generated machine (1,200 functions, random tables and policies)', () => {
  for (let seed = 1; seed <= 20; seed++) {
    it(`seed ${seed}`, () => {
      const inp = randomInputs(seed);
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
        if (m === 'bus') expect(s.functions).toEqual([t.bdf]);
        // Functions besides the target are its VFs (an FLR of the PF resets them).
        for (const f of s.functions.slice(1)) expect(byBdf.get(f)!.physfn).toBe(t.bdf);
        for (const f of s.functions) {
          expect(eff(f).skip).toBeNull();
          expect(ctx.scope.get(f)!.protected).toBe(false);
        }
      }

      // Steps of one wave share no function and no bridge; independentOf is that wave, symmetric.
      const res = (s: (typeof plan.steps)[number]): Set<string> => {
        const t = byBdf.get(s.target)!;
        return new Set([...s.functions, s.target, ...(s.method !== 'bus' && t.parent ? [t.parent] : [])]);
      };
      const byWave = new Map<number, typeof plan.steps>();
      for (const s of plan.steps) byWave.set(s.wave, [...(byWave.get(s.wave) ?? []), s]);
      for (const steps of byWave.values()) {
        expect(steps.length).toBeLessThanOrEqual(inp.policy.waveSize!);
        const held = new Map<string, number>();
        for (const s of steps) {
          for (const r of res(s)) {
            expect(held.get(r), `${r} held by steps ${held.get(r)} and ${s.id}`).toBeUndefined();
            held.set(r, s.id);
          }
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
        const mine = res(s);
        const prev = byWave.get(s.wave - 1)!;
        const full = prev.length === inp.policy.waveSize;
        expect(full || faulty.some((o) => o.wave === s.wave - 1 && [...res(o)].some((r) => mine.has(r)))).toBe(true);
      }
    });
  }
});
