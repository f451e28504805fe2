import { afterAll, describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { buildPlan, type Policy } from '../../src/plan/build-plan.js';
import { cleanup, endpoint, iommu, rootPort, scanTree, tableWith } from './helpers.js';

afterAll(cleanup);

/**
 * The planner's half of a safety guard the executor enforces again (test/apply/guards.test.ts): host
 * bridges, the IOMMU function and bridges are never reset as functions, whatever the table, --only and
 * --all say; a bus reset never reaches the IOMMU function.
 */
describe('never reset: host bridges, the IOMMU, bridges as functions', () => {
  const fns = [
    { bdf: '0000:00:00.0', vendor: 0x8086, device: 0x29c0, classCode: 0x060000, pcie: { type: 'rc_integrated_endpoint' as const, flr: true }, pm: {}, resetMethod: ['flr', 'pm'] },
    { bdf: '0000:00:00.2', vendor: 0x1022, device: 0x1481, classCode: 0x080600, pcie: { type: 'rc_integrated_endpoint' as const, flr: true }, pm: {}, resetMethod: ['flr', 'pm'] },
    rootPort(1, 1, { pcie: { type: 'root_port', flr: true, dllla: true }, resetMethod: ['flr', 'pm', 'bus'] }),
    endpoint('0000:01:00.0', '0000:00:01.0'),
    // An IOMMU function below a port (not seen in the wild; the rule must not depend on where it sits).
    rootPort(2, 2),
    endpoint('0000:02:00.0', '0000:00:02.0', { pcie: { type: 'endpoint' }, pm: { noSoftReset: true } }),
    endpoint('0000:02:00.1', '0000:00:02.0', { classCode: 0x080600, device: 0x0002, pcie: { type: 'endpoint' } }),
  ];
  const table = tableWith(['8086:29c0 prefer=flr,pm reason="test: asks for it"', '1022:1481 prefer=kernel:flr reason="test"', '8086:2030 prefer=flr,pm reason="test"'].join('\n'));
  const scan = scanTree(new MockTree().addAll(fns), table);

  const policies: [string, Policy][] = [
    ['by default', {}],
    ['with --all', { all: true }],
    ['with --only naming each of them', { only: ['00:00.0', '00:00.2', '00:01.0', '00:02.0'] }],
  ];
  for (const [name, policy] of policies) {
    it(name, () => {
      const plan = buildPlan({ scan, iommu: iommu('4'), quirks: table, policy });
      const reset = new Set(plan.steps.flatMap((s) => s.functions));
      for (const bdf of ['0000:00:00.0', '0000:00:00.2', '0000:00:01.0', '0000:00:02.0', '0000:02:00.1']) expect(reset.has(bdf), bdf).toBe(false);
      for (const s of plan.steps) expect(['0000:00:00.0', '0000:00:00.2', '0000:00:01.0', '0000:00:02.0']).not.toContain(s.method === 'bus' ? '' : s.target);
      const excluded = new Map(plan.excluded.map((e) => [e.bdf, e.reason]));
      if (!('only' in policy)) {
        expect(excluded.get('0000:00:00.0')).toMatch(/^host bridge/);
        expect(excluded.get('0000:00:00.2')).toMatch(/^the IOMMU itself: never reset/);
        expect(excluded.get('0000:00:01.0')).toMatch(/^bridge: never reset as a function/);
      }
      // 02:00.0 needs a bus reset (no FLR, no soft reset), which would reach the IOMMU function: not planned.
      expect(plan.steps.some((s) => s.functions.includes('0000:02:00.0'))).toBe(false);
    });
  }
});
