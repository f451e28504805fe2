import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessError } from '../../src/access/access-error.js';
import { UserError } from '../../src/errors/user-error.js';
import { gatherPlanInputs } from '../../src/pipeline/gather-plan-inputs.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { renderPlan } from '../../src/plan/render-plan.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { qemuQ35Dmar, qemuQ35Ivrs } from '../iommu/acpi-bytes.js';
import { dmesg, q35AmdFunctions, writeScenario } from '../iommu/mock-roots.js';
import { canary, mutateTree } from './mutate-tree.js';
import { bounded, iterations, Prng, report, seed } from './prng.js';

/**
 * scan, IOMMU verdict and plan, end to end as `plan --json` runs them, over mutated mock roots: the
 * server example, and a q35 capture kernel with a host bridge, an AMD IOMMU function, DMAR and IVRS
 * tables, IOMMU units in sysfs and a kernel log. Mutations reach sys/, proc/ and dev/.
 *
 * Invariants: no exception but the one named error of an unreadable device listing; each input bounded;
 * every function the scan returned (devices with problems too) exactly once across the plan's steps,
 * unresettable and excluded, nothing else; a bus step covers exactly what is below its bridge; no step
 * resets a host bridge or the IOMMU; every reason a sentence; the JSON round-trips and the human view
 * renders; the canary outside the root never appears.
 */

function bases(): string[] {
  const server = serverTree().file('proc/vmcore', '').write(tmpDir('pra-planfuzz-'));
  const q35 = writeScenario({
    capture: true,
    cmdline: 'amd_iommu=on reset_devices',
    functions: q35AmdFunctions(),
    tables: { DMAR: qemuQ35Dmar(), IVRS: qemuQ35Ivrs() },
    sysfs: [{ name: 'ivhd0', vendor: 'amd', devices: ['0000:00:01.0', '0000:01:00.0'] }],
    kmsg: dmesg('AMD-Vi: Translation is already enabled - trying to copy translation structures', 'AMD-Vi: Event logged [IO_PAGE_FAULT device=01:00.0 domain=0x0000 address=0xfffff000 flags=0x0000]'),
  }).dir;
  return [server, q35];
}

const rounds = iterations(16);

describe('fuzz: scan + IOMMU + plan over mutated roots', () => {
  it('every function exactly once, whatever the scan returned', { timeout: Math.max(60_000, rounds * 3_000) }, async () => {
    const rng = new Prng(seed() + 31);
    const outside = canary();
    const pristine = bases();
    const start = performance.now();
    let planned = 0;
    for (let i = 0; i < rounds; i++) {
      const base = pristine[i % pristine.length]!;
      const root = path.join(tmpDir('pra-planfuzz-'), 'root');
      fs.cpSync(base, root, { recursive: true, verbatimSymlinks: true });
      const edits = mutateTree(rng, root, outside, ['sys', 'proc', 'dev']);
      const what = `round ${i} on ${path.basename(base)}: ${edits.join(', ')}`;
      let inputs;
      const t0 = performance.now();
      try {
        inputs = await gatherPlanInputs({ root, quirks: [], only: [], exclude: [], waveSize: '32', registers: false });
      } catch (err) {
        // Only the device listing itself may make the whole run fail, as one named error.
        if (!(err instanceof AccessError || err instanceof UserError)) throw new Error(`${what}: ${String(err)}`);
        expect((err as Error).message, what).toMatch(/sys\/bus\/pci|root/);
        continue;
      }
      const plan = bounded(what, () => buildPlan({ scan: inputs.scan, iommu: inputs.iommu, quirks: inputs.quirks, policy: inputs.policy }));
      expect(performance.now() - t0, `${what}: took too long`).toBeLessThan(5000);
      planned++;

      const bdfs = inputs.scan.devices.map((d) => d.bdf);
      const seen = [...plan.steps.flatMap((s) => s.functions), ...plan.unresettable.map((e) => e.bdf), ...plan.excluded.map((e) => e.bdf)];
      expect([...seen].sort(), what).toEqual([...bdfs].sort());
      const byBdf = new Map(inputs.scan.devices.map((d) => [d.bdf, d]));
      for (const s of plan.steps) {
        expect(byBdf.has(s.target), what).toBe(true);
        if (s.method === 'bus') expect(s.functions, what).toEqual(byBdf.get(s.target)!.below);
        for (const f of [s.target, ...s.functions]) {
          const cls = byBdf.get(f)?.class;
          if (s.method === 'bus' && f === s.target) continue;
          expect(cls === null || cls === undefined || !/^(0600|0806)/.test(cls), `${what}: step ${s.id} resets ${f} (class ${cls})`).toBe(true);
        }
        for (const r of s.reasons) expect(typeof r === 'string' && r.length > 0, what).toBe(true);
      }
      for (const e of [...plan.unresettable, ...plan.excluded]) expect(e.reason.length, what).toBeGreaterThan(0);
      for (const d of inputs.scan.devices) expect(d.vendor, `${what}: canary leaked`).not.toBe('dead');
      expect(JSON.parse(JSON.stringify(plan)), what).toEqual(plan);
      expect(() => JSON.stringify(inputs.iommu, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)), what).not.toThrow();
      expect(() => renderPlan(plan, inputs.scan), what).not.toThrow();
      fs.rmSync(path.dirname(root), { recursive: true, force: true });
    }
    report('scan + IOMMU + plan over mutated roots', rounds, performance.now() - start);
    expect(planned).toBeGreaterThan(rounds / 2);
  });
});
