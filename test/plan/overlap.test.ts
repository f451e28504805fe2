import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, endpoint, planFor, rootPort } from './helpers.js';
import { assignWaves } from '../../src/plan/waves.js';

afterAll(cleanup);

const RP1 = '0000:00:01.0';
/** An 8-function device below one Root Port, no driver bound, the kernel offering flr first. */
const eight = (extra: (f: number) => Record<string, unknown> = () => ({})) => [
  rootPort(1, 1),
  ...Array.from({ length: 8 }, (_, f) => endpoint(`0000:01:00.${f}`, RP1, { multiFunction: true, ...extra(f) })),
];

describe('issue 16 item 3: function resets below one bridge', () => {
  it('an 8-function device with no driver: the agent\'s own FLRs, one wave, the kernel\'s reset first among the fallbacks', () => {
    const { plan } = planFor({ fns: eight() });
    expect(plan.steps).toHaveLength(8);
    expect(plan.steps.map((s) => s.method)).toEqual(Array(8).fill('flr'));
    expect(new Set(plan.steps.map((s) => s.wave))).toEqual(new Set([1]));
    for (const s of plan.steps) {
      expect(s.fallbacks[0]).toBe('kernel');
      expect(s.saveRestore).toEqual([s.target]);
      expect(s.independentOf).toHaveLength(7);
      expect(s.reasons.join('\n')).toContain('pci_reset_function() takes pci_dev_lock() on the upstream bridge');
      expect(s.reasons.join('\n')).toContain(`runs alongside the 7 other function resets below ${RP1}`);
    }
  });

  it('a function with a driver bound keeps the kernel\'s reset and its own wave; the others still overlap', () => {
    const { plan } = planFor({ fns: eight((f) => (f === 3 ? { driver: 'ixgbe' } : {})) });
    const bound = plan.steps.find((s) => s.target === '0000:01:00.3')!;
    expect(bound.method).toBe('kernel');
    const raw = plan.steps.filter((s) => s !== bound);
    expect(raw.every((s) => s.method === 'flr')).toBe(true);
    // The kernel step locks the bridge the raw ones read: never in their waves; priority (lspci) order is
    // kept among conflicting steps, so .0-.2 go before it and .4-.7 after: 3 waves where there were 8.
    expect(raw.every((s) => s.wave !== bound.wave)).toBe(true);
    expect(new Set(plan.steps.map((s) => s.wave)).size).toBe(3);
  });

  it('a table preference for the kernel is kept', () => {
    const { plan } = planFor({ fns: eight(), table: '1234:0001 prefer=kernel reason="test: the kernel\'s reset wanted"' });
    expect(plan.steps.every((s) => s.method.startsWith('kernel'))).toBe(true);
    expect(new Set(plan.steps.map((s) => s.wave)).size).toBe(8);
  });

  it('a lone function below its bridge keeps the kernel\'s reset (nothing to overlap with)', () => {
    const { plan } = planFor({ fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1)] });
    expect(plan.steps.map((s) => s.method)).toEqual(['kernel']);
  });

  it('waves: shared names overlap, an owner waits for every sharer and every sharer for the owner', () => {
    expect(assignWaves([{ own: ['a'], share: ['P'] }, { own: ['b'], share: ['P'] }, { own: ['c', 'P'], share: [] }, { own: ['d'], share: ['P'] }])).toEqual([1, 1, 2, 3]);
    expect(assignWaves([['a', 'P'], ['b', 'P']])).toEqual([1, 2]);
  });

  it('waves: the size caps steps that write through the kernel; the agent\'s own resets fill up to 4 times as many', () => {
    const raw = Array.from({ length: 10 }, (_, i) => ({ own: [`r${i}`], share: [], thread: false }));
    const kernel = Array.from({ length: 3 }, (_, i) => ({ own: [`k${i}`], share: [], thread: true }));
    expect(assignWaves([...kernel, ...raw], 2)).toEqual([1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
  });
});
