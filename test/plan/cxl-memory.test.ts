import { afterAll, describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { defaultTable } from '../../src/quirks/load.js';
import { rig, step } from '../apply/fixture.js';
import { appendExtCaps, set } from '../helpers/ext-caps.js';
import { brief, cleanup, iommu, scanTree } from './helpers.js';

afterAll(cleanup);

/** A CXL Device DVSEC (vendor 0x1E98, ID 0) with CXL Control's Mem_Enable as given. */
const cxlDevice = (memEnable: boolean) => (b: Uint8Array): void =>
  appendExtCaps(b, [{ id: 0x23, size: 0x38, init: (bb, o) => (set(bb, o + 4, 4, (0x1e98 | (1 << 16) | (0x38 << 20)) >>> 0), set(bb, o + 8, 2, 0), set(bb, o + 0x0c, 2, memEnable ? 0x0004 : 0)) }]);

const tree = (memEnable: boolean): MockTree =>
  new MockTree()
    .add({ bdf: '0000:00:01.0', vendor: 0x8086, device: 0x2030, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port', linkSpeed: 5, dllla: true }, pm: {} })
    .add({ bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x0d93, classCode: 0x050210, pcie: { type: 'endpoint', flr: false }, pm: { noSoftReset: true }, patchConfig: cxlDevice(memEnable) })
    .file('proc/vmcore', '');

describe('never a bus reset below a CXL memory device that decodes memory (issue 12, CXL)', () => {
  it('scan reads Mem_Enable from the CXL Device DVSEC; the plan refuses the bus reset by name', () => {
    const s = scanTree(tree(true));
    expect(s.devices.find((d) => d.bdf === '0000:01:00.0')!.cxlMemEnabled).toBe(true);
    const plan = buildPlan({ scan: s, iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    expect(brief(plan).steps).toEqual([]);
    expect(plan.unresettable.find((u) => u.bdf === '0000:01:00.0')!.reason).toMatch(/CXL memory device with Mem_Enable set in its CXL DVSEC/);
  });

  it('without Mem_Enable the bus reset is planned', () => {
    const plan = buildPlan({ scan: scanTree(tree(false)), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    expect(plan.steps.length).toBe(1);
  });

  it('the executor refuses a hand-made bus step there (read now)', async () => {
    const r = rig(tree(true));
    const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'], saveRestore: ['0000:01:00.0'] })]);
    expect(res.steps[0]!.status).not.toBe('ok');
    expect(res.steps[0]!.attempts[0]!.detail).toMatch(/CXL memory device with Mem_Enable/);
    expect(r.sim.resetLog).toEqual([]);
  });
});
