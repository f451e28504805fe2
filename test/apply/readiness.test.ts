import { afterAll, describe, expect, it } from 'vitest';
import { decodeReadinessTimes, readinessTimeMs } from '../../src/config/readiness.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { defaultTable } from '../../src/quirks/load.js';
import { appendExtCaps, set } from '../helpers/ext-caps.js';
import { cleanup, iommu, scanTree } from '../plan/helpers.js';
import { rig, step } from './fixture.js';
import { endpoint, programme, rootPort } from './trees.js';

/**
 * Issue 12, newer kernel facilities: Immediate Readiness and the Readiness Time Reporting extended
 * capability (0x22), decoded in scan, used in the waits, named in the plan.
 */
afterAll(cleanup);

/** RTR with every time valid: value 9 bits × 32^scale ns; scale 4 = 1.048576 ms units. */
const rtr = (flrUnits: number, resetUnits = 0) => (b: Uint8Array): void => {
  programme(b);
  appendExtCaps(b, [
    {
      id: 0x22,
      size: 0x0c,
      init: (bb, o) => {
        set(bb, o + 4, 4, (0x80000000 | (resetUnits ? (4 << 9) | resetUnits : 0) | (resetUnits ? ((4 << 9) | resetUnits) << 12 : 0)) >>> 0);
        set(bb, o + 8, 4, (4 << 9) | flrUnits);
      },
    },
  ]);
};

const EP = '0000:01:00.0';
const tree = (patch: (b: Uint8Array) => void, extra = {}): MockTree =>
  new MockTree().add(rootPort('0000:00:01.0', 1, 1)).add(endpoint(EP, '0000:00:01.0', { patchConfig: patch, driver: undefined, ...extra })).file('proc/vmcore', '');

describe('Readiness Time Reporting', () => {
  it('decodes value × 32^scale ns; reserved scales and an invalid capability give nothing', () => {
    expect(readinessTimeMs((4 << 9) | 10)).toBeCloseTo(10.48576, 5);
    expect(readinessTimeMs((7 << 9) | 10)).toBe(null);
    expect(decodeReadinessTimes(0, (4 << 9) | 10).flrMs).toBe(null);
    const s = scanTree(tree(rtr(10)));
    const d = s.devices.find((x) => x.bdf === EP)!;
    expect(d.readiness).toMatchObject({ valid: true });
    expect(d.readiness!.flrMs).toBeCloseTo(10.48576, 5);
  });

  it('a shorter FLR Time (11 ms) is planned and waited instead of 100 ms, and the plan says so', async () => {
    const t = tree(rtr(10));
    const plan = buildPlan({ scan: scanTree(t), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const s = plan.steps.find((x) => x.target === EP)!;
    expect(s.waits).toContainEqual({ what: 'flr', ms: 11 });
    expect(s.reasons.join('\n')).toMatch(/FLR Time in Readiness Time Reporting: 11 ms after the FLR, shorter than the spec's 100 ms/);
    const r = rig(t);
    const res = await r.run([step({ method: 'flr', target: EP })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.waits).toContainEqual({ what: 'flr', ms: 11 });
    expect(r.sim.violations).toEqual([]);
  });

  it('a longer FLR Time (300 ms) is waited out: no access inside it', async () => {
    const t = tree(rtr(286));
    const plan = buildPlan({ scan: scanTree(t), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    expect(plan.steps.find((x) => x.target === EP)!.reasons.join('\n')).toMatch(/300 ms after the FLR, longer than the spec's 100 ms/);
    const r = rig(t);
    const res = await r.run([step({ method: 'flr', target: EP })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.violations).toEqual([]);
  });

  it('a bus below devices reporting a longer Reset/DL_Up Time waits that long', () => {
    const t = tree(rtr(10, 238), { pcie: { type: 'endpoint', flr: false, linkSpeed: 2 }, pm: { noSoftReset: true } });
    const plan = buildPlan({ scan: scanTree(t), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const s = plan.steps.find((x) => x.functions.includes(EP))!;
    expect(s.waits.find((w) => w.what === 'secondary-bus')!.ms).toBe(20 + 250);
    expect(s.reasons.join('\n')).toMatch(/Readiness Time Reporting below 0000:00:01.0: its devices need up to 250 ms/);
  });

  it('Immediate Readiness: no FLR wait, and the plan names it', () => {
    const plan = buildPlan({ scan: scanTree(tree(programme, { immediateReadiness: true })), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const s = plan.steps.find((x) => x.target === EP)!;
    expect(s.waits).toContainEqual({ what: 'flr', ms: 0 });
    expect(s.reasons.join('\n')).toMatch(/Immediate Readiness \(Status bit 0\): no 100 ms wait after the FLR/);
  });
});
