import { afterAll, describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { defaultTable } from '../../src/quirks/load.js';
import { cleanup, iommu, scanTree } from '../plan/helpers.js';
import { rig, step } from './fixture.js';
import { endpoint, rootPort, smallTree } from './trees.js';

afterAll(cleanup);

describe('a function that answers after its step gave up (issue 12 item 4)', () => {
  it('is restored before the agent exits when the deadline allows; the step stays failed, and says so', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:01:00.0': { readyDelayMs: 3000 } } });
    const bar = r.sim.readConfigAt('0000:01:00.0', 0x10, 4);
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' }), step({ method: 'flr', target: '0000:05:00.0' })], { readyTimeoutMs: 1000, deadlineMs: 30000 });
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^ETIMEDOUT in wait 0000:01:00.0/);
    expect(s.notes.join('\n')).toMatch(/0000:01:00.0 answered after its step gave up: restored before exit \(Bus Master left off\)/);
    expect(s.restored).toContain('0000:01:00.0');
    expect(s.leftUnrestored).toBeUndefined();
    expect(r.sim.readConfigAt('0000:01:00.0', 0x10, 4)).toBe(bar);
    expect(res.deadlineReached).toBe(false);
  });

  it('one that is still silent at the deadline is named as left unrestored', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:01:00.0': { readyDelayMs: 8000 } } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })], { readyTimeoutMs: 1000, deadlineMs: 5000 });
    expect(res.steps[0]!.leftUnrestored).toEqual(['0000:01:00.0']);
    expect(r.clock.now()).toBeLessThanOrEqual(5000);
  });
});

describe('a function reading all 0xFF alone on its bus (issue 12 item 7)', () => {
  const dead = (b: Uint8Array): void => {
    b.fill(0xff);
  };
  const tree = (): MockTree =>
    new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { resetMethod: ['flr', 'bus'], patchConfig: dead, driver: undefined }))
      .file('proc/vmcore', '');

  it("the plan's reason says it does not answer, not that it shares its bus", () => {
    const plan = buildPlan({ scan: scanTree(tree()), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const text = [...plan.steps.flatMap((s) => s.reasons), ...plan.unresettable.map((u) => u.reason)].join('\n');
    expect(text).not.toMatch(/other functions on its bus/);
    if (plan.steps.length) expect(text).toMatch(/0000:01:00.0 does not answer config reads \(all 0xFF\)/);
  });

  it('a bus reset that could save and restore nothing is not ok, and names the function', async () => {
    const r = rig(tree());
    const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'], saveRestore: ['0000:01:00.0'] })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^ENODEV in save 0000:01:00.0: reset, but nothing was restored: 0000:01:00.0 did not answer before the reset/);
    expect(s.leftUnrestored).toEqual(['0000:01:00.0']);
  });
});
