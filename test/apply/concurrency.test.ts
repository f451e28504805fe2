import { describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { rig, step } from './fixture.js';
import { endpoint, rootPort, smallTree } from './trees.js';

function manyPorts(n: number): MockTree {
  const t = new MockTree();
  for (let i = 1; i <= n; i++) {
    const port = `0000:00:${i.toString(16).padStart(2, '0')}.0`;
    t.add(rootPort(port, i, i)).add(endpoint(`0000:${i.toString(16).padStart(2, '0')}:00.0`, port));
  }
  return t;
}

describe('concurrency', () => {
  it('independent steps run together: 16 FLRs take as long as one, 16 bus resets as long as one', async () => {
    const r = rig(manyPorts(16));
    const steps = [];
    for (let i = 1; i <= 16; i++) {
      const h = i.toString(16).padStart(2, '0');
      steps.push(i % 2 ? step({ method: 'flr', target: `0000:${h}:00.0` }) : step({ method: 'bus', target: `0000:00:${h}.0`, functions: [`0000:${h}:00.0`] }));
    }
    const res = await r.run(steps);
    expect(res.steps.every((s) => s.status === 'ok')).toBe(true);
    expect(res.steps.every((s) => s.startMs === 0)).toBe(true);
    expect(res.durationMs).toBe(Math.max(...res.steps.map((s) => s.durationMs)));
    expect(r.sim.violations).toEqual([]);
  });

  it('steps under the same bridge or on the same function never overlap, even if marked independent', async () => {
    const r = rig(smallTree());
    const steps = [
      step({ id: 1, method: 'flr', target: '0000:05:00.0', independentOf: [2, 3] }),
      step({ id: 2, method: 'bus', target: '0000:00:03.0', functions: ['0000:03:00.0', '0000:04:08.0', '0000:05:00.0', '0000:04:09.0', '0000:06:00.0'], independentOf: [1, 3] }),
      step({ id: 3, method: 'pm', target: '0000:05:00.0', independentOf: [1, 2] }),
    ];
    const res = await r.run(steps);
    const spans = res.steps.map((s) => [s.startMs, s.startMs + s.durationMs] as const);
    for (let i = 0; i < spans.length; i++) for (let j = i + 1; j < spans.length; j++) expect(spans[i]![1] <= spans[j]![0] || spans[j]![1] <= spans[i]![0]).toBe(true);
    expect(r.log.events.filter((e) => e.event === 'plan.overlap')).toHaveLength(3);
  });

  it('waves run in order; a later wave waits for the steps it is not independent of', async () => {
    const r = rig(smallTree());
    const res = await r.run([
      step({ id: 1, method: 'flr', target: '0000:01:00.0', wave: 1 }),
      step({ id: 2, method: 'flr', target: '0000:02:00.0', wave: 2 }),
      step({ id: 3, method: 'flr', target: '0000:05:00.0', wave: 2, independentOf: [1] }),
    ]);
    expect(res.steps.map((s) => [s.id, s.startMs])).toEqual([[1, 0], [2, 100], [3, 0]]);
  });
});
