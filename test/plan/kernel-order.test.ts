import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { kernelFlagsFor } from '../../src/quirks/kernel-flags.js';
import { defaultTable } from '../../src/quirks/load.js';
import { scan } from '../../src/scan/scan.js';
import { planOf, rig, step } from '../apply/fixture.js';
import { brief, cleanup, endpoint, iommu, planFor, rootPort, tempDir } from './helpers.js';

afterAll(cleanup);

const RP1 = '0000:00:01.0';
const EP = '0000:01:00.0';

describe("the kernel's order: ACPI _RST ranks above flr (issue 12 item 5)", () => {
  it('reset_method "acpi flr pm": the whole chain through the reset file, _RST first; never a write of flr into reset_method', () => {
    const { plan } = planFor({ fns: [rootPort(1, 1), endpoint(EP, RP1, { pm: {}, resetMethod: ['acpi', 'flr', 'pm'] })] });
    expect(brief(plan).steps).toEqual(['kernel@01:00.0[01:00.0]']);
    const s = plan.steps[0]!;
    expect(s.underlying).toBe('acpi');
    expect(s.reasons.join('\n')).toMatch(/acpi: the platform's ACPI _RST, ranked above flr by the kernel/);
  });

  it('an ACPI _RST behind a listed method the plan rules out: kernel:acpi, and kernel:acpi among the fallbacks of a preferred method', () => {
    // A Chelsio T4 must not get the kernel's plain flr: the chain (acpi flr) holds it, so acpi is selected alone.
    const a = planFor({ fns: [rootPort(1, 1), endpoint(EP, RP1, { vendor: 0x1425, device: 0x4001, resetMethod: ['acpi', 'flr'] })] });
    expect(brief(a.plan).steps).toEqual(['kernel:acpi@01:00.0[01:00.0]']);
    const b = planFor({ fns: [rootPort(1, 1), endpoint(EP, RP1, { resetMethod: ['acpi', 'flr'] })], table: '1234:0001 prefer=flr reason="test"' });
    expect(b.plan.steps[0]!.method).toBe('kernel:flr');
    // The kernel's whole chain (acpi first) or acpi alone comes next.
    expect(b.plan.steps[0]!.fallbacks.some((f) => f === 'kernel' || f === 'kernel:acpi')).toBe(true);
  });
});

describe('Chelsio T4 never gets the plain FLR the kernel avoids (issue 12 item 2)', () => {
  const t4 = (extra: Partial<MockFunction> = {}): MockFunction => endpoint(EP, RP1, { vendor: 0x1425, device: 0x4001, pm: { noSoftReset: true }, ...extra });

  it('with reset_method: the kernel\'s device_specific, and no flr, kernel:flr or af_flr among the fallbacks', () => {
    const { plan } = planFor({ fns: [rootPort(1, 1), t4({ resetMethod: ['device_specific', 'flr', 'bus'] })] });
    const s = plan.steps[0]!;
    expect(s.method === 'kernel:device_specific' || s.method === 'kernel').toBe(true);
    expect(s.fallbacks.filter((f) => f === 'flr' || f === 'kernel:flr' || f === 'af_flr' || f === 'kernel:af_flr')).toEqual([]);
  });

  it('a kernel older than 5.15 (reset file, no reset_method): the plain reset file, whose fixed chain starts with device_specific; never a raw FLR', () => {
    const dir = tempDir();
    new MockTree().add(rootPort(1, 1)).add(t4()).write(dir);
    const rm = path.join(dir, 'sys/bus/pci/devices', EP, 'reset_method');
    fs.rmSync(fs.realpathSync(rm));
    const table = defaultTable();
    const s = scan(new SysfsAccess(new Root(dir)), dir, { flagsFor: kernelFlagsFor(table) });
    const d = s.devices.find((x) => x.bdf === EP)!;
    expect(d.resetFile).toBe(true);
    expect(d.resetMethods).toBe(null);
    const plan = buildPlan({ scan: s, iommu: iommu('4'), quirks: table, policy: {} });
    expect(brief(plan).steps).toEqual(['kernel@01:00.0[01:00.0]']);
    expect(plan.steps[0]!.fallbacks).not.toContain('flr');
    expect(plan.steps[0]!.reasons.join('\n')).toMatch(/plain reset file runs the fixed chain, which starts with device_specific/);
  });

  it('the executor refuses a hand-made raw FLR of a T4 (IDs read now)', async () => {
    const r = rig(new MockTree().add(rootPort(1, 1)).add(t4()));
    const res = await r.run(planOf([step({ method: 'flr', target: EP })]));
    expect(res.steps[0]!.status).not.toBe('ok');
    expect(res.steps[0]!.attempts[0]!.detail).toMatch(/Chelsio T4 can wedge/);
    expect(r.sim.resetLog).toEqual([]);
  });
});
