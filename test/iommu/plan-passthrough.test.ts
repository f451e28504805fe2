import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, endpoint, iommu, planFor, rootPort } from '../plan/helpers.js';

afterAll(cleanup);

describe('defect 4 in the planner: a passthrough device is as urgent as case 3b', () => {
  const fns = [rootPort(1, 1), endpoint('0000:01:00.0', '0000:00:01.0'), rootPort(2, 2), endpoint('0000:02:00.0', '0000:00:02.0')];

  it('the identity-mapped function is reset first, with the reason named, ahead of one with faults', () => {
    const report = iommu('4', { '0000:01:00.0': 3, '0000:02:00.0': 0 });
    report.devices.find((d) => d.bdf === '0000:02:00.0')!.passthrough = true;
    const { plan } = planFor({ fns, iommu: report });
    expect(plan.steps.map((s) => s.target)).toEqual(['0000:02:00.0', '0000:01:00.0']);
    expect(plan.steps[0]!.reasons.join('\n')).toMatch(/identity \(passthrough\) mapping: its stray DMA reaches raw memory as in case 3b: reset first/);
  });

  it('without the finding the faulting function goes first (control)', () => {
    const { plan } = planFor({ fns, iommu: iommu('4', { '0000:01:00.0': 3, '0000:02:00.0': 0 }) });
    expect(plan.steps.map((s) => s.target)).toEqual(['0000:01:00.0', '0000:02:00.0']);
  });
});
