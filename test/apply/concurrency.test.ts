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

  it('the agent\'s own FLRs of 8 functions below one bridge run together; a kernel reset below it never overlaps them', async () => {
    const port = '0000:00:01.0';
    const t = new MockTree().add(rootPort(port, 1, 1));
    for (let f = 0; f < 8; f++) t.add(endpoint(`0000:01:00.${f}`, port, { multiFunction: true }));
    const r = rig(t);
    const raw = Array.from({ length: 8 }, (_, f) => step({ id: f + 1, method: 'flr', target: `0000:01:00.${f}`, wave: 1 }));
    const res = await r.run(raw);
    expect(res.steps.every((s) => s.status === 'ok')).toBe(true);
    expect(res.steps.every((s) => s.startMs === 0)).toBe(true);
    expect(res.durationMs).toBe(Math.max(...res.steps.map((s) => s.durationMs)));
    expect(r.sim.violations).toEqual([]);

    const r2 = rig(t);
    const mixed = await r2.run([
      step({ id: 1, method: 'flr', target: '0000:01:00.0', wave: 1 }),
      step({ id: 2, method: 'kernel', target: '0000:01:00.1', wave: 1 }),
      step({ id: 3, method: 'flr', target: '0000:01:00.2', wave: 1 }),
    ]);
    const span = (id: number): [number, number] => {
      const s = mixed.steps.find((x) => x.id === id)!;
      return [s.startMs, s.startMs + s.durationMs];
    };
    for (const other of [1, 3]) expect(span(2)[1] <= span(other)[0] || span(other)[1] <= span(2)[0]).toBe(true);
    expect(r2.log.events.filter((e) => e.event === 'plan.overlap').map((e) => [e.other, e.step])).toEqual([[1, 2], [2, 3]]);
  });
});
