import { describe, expect, it } from 'vitest';
import { AccessError } from '../../src/access/access-error.js';
import { rig, rigAt, step } from './fixture.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { smallTree } from './trees.js';

const scenario = () => [
  step({ id: 1, method: 'flr', target: '0000:01:00.0' }),
  step({ id: 2, method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] }),
  step({ id: 3, method: 'kernel:pm', target: '0000:00:1f.0' }),
];

/**
 * The fault-injection API driving every I/O step: run the scenario once, then once per operation with
 * that operation failing (EIO), and once per operation with the function vanishing there. Whatever
 * fails, the executor finishes, reports every step with a reason, leaves no bus in reset, puts
 * reset_method back, and never touches a function inside its mandated wait.
 */
describe('every single I/O operation failing in turn', () => {
  it('ends in a complete report every time', async () => {
    const dir = smallTree().write(tmpDir('pra-fuzz-'));
    const base = rigAt(dir);
    await base.run(scenario());
    const n = base.sim.trace.length;
    expect(n).toBeGreaterThan(100);
    for (const action of [{ kind: 'error', code: 'EIO' } as const, { kind: 'vanish' } as const]) {
      for (let k = 0; k < n; k += action.kind === 'error' ? 1 : 7) {
        const r = rigAt(dir);
        r.sim.faults.add({ after: k, times: 1, action });
        let res;
        try {
          res = await r.run(scenario());
        } catch (err) {
          throw new Error(`operation ${k} (${JSON.stringify(base.sim.trace[k])}) with ${action.kind}: executor threw ${(err as Error).message}`);
        }
        expect(res.steps).toHaveLength(3);
        for (const s of res.steps) {
          expect(['ok', 'failed']).toContain(s.status);
          if (s.status !== 'ok') expect(s.error, `op ${k}`).toMatch(/^(E[A-Z]+ in [a-z]+ 0000:|no method in the chain applies)/);
        }
        // A bridge that vanished mid-reset cannot be written any more; the step says so (tested above).
        const bridge = r.sim.get('0000:00:02.0');
        if (bridge.presence === 'present') expect(bridge.config[0x3e]! & 0x40, `op ${k}`).toBe(0);
        else expect(res.steps[1]!.error, `op ${k}`).toBeDefined();
        // Put back, or (a function that vanished: the kernel takes the old list back no more) said so.
        const listing = r.sim.get('0000:00:1f.0').resetMethods!.join(' ');
        if (listing !== 'flr pm') expect(res.steps[2]!.notes.join(), `op ${k}`).toMatch(/reset_method "flr pm" was refused back/);
        expect(r.sim.violations, `op ${k}`).toEqual([]);
      }
    }
  });

  it('a fault rule never leaks out as a crash of the simulator itself', () => {
    const r = rig(smallTree());
    r.sim.faults.add({ action: { kind: 'error', code: 'EIO' } });
    expect(() => r.sim.readConfigAt('0000:01:00.0', 0, 4)).toThrow(AccessError);
  });
});
