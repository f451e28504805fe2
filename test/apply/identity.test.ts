import { describe, expect, it } from 'vitest';
import { rig, step } from './fixture.js';
import { smallTree } from './trees.js';

/**
 * Issue 11 item 9 / issue 12 item 8: before a step writes anything, the identity of every function it
 * touches is read again; a function that no longer reads as the scan saw it fails the step (ESTALE)
 * and nothing is written. The never-reset guard uses the class read now.
 */
const EP = '0000:01:00.0';

function writes(r: ReturnType<typeof rig>): unknown[] {
  return r.sim.trace.filter((t) => t.op === 'writeConfigAt' || t.op === 'writeAttribute');
}

describe('identity re-read before each step', () => {
  it('a function rewritten to read as a host bridge after the scan: ESTALE, nothing written', async () => {
    const r = rig(smallTree());
    r.sim.get(EP).set(0x08, 4, 0x06000000); // class 0600: host bridge
    const res = await r.run([step({ method: 'flr', target: EP })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^ESTALE in probe 0000:01:00.0: 0000:01:00.0 is not the function the plan was made for: it reads class 0x060000 \(scan: 0x020000\) now; nothing written/);
    expect(writes(r)).toEqual([]);
    expect(r.sim.resetLog).toEqual([]);
  });

  it('another device in the slot (device ID differs): ESTALE', async () => {
    const r = rig(smallTree());
    r.sim.get(EP).set(0x02, 2, 0x1572);
    const res = await r.run([step({ method: 'flr', target: EP })]);
    expect(res.steps[0]!.error).toMatch(/^ESTALE .* device 0x1572 \(scan: 0x10fb\)/);
    expect(writes(r)).toEqual([]);
  });

  it('a function below a bridge the step resets changed header type: the bus step fails, nothing written', async () => {
    const r = rig(smallTree());
    r.sim.get('0000:05:00.0').set(0x0c, 4, 0x00010000);
    const fns = ['0000:03:00.0', '0000:04:08.0', '0000:04:09.0', '0000:05:00.0', '0000:06:00.0'];
    const res = await r.run([step({ method: 'bus', target: '0000:00:03.0', functions: fns, saveRestore: fns })]);
    expect(res.steps[0]!.error).toMatch(/^ESTALE in probe 0000:05:00.0: .*header type 0x01 \(scan: 0x00\)/);
    expect(writes(r)).toEqual([]);
  });

  it('the parent bridge of a function step with a bus fallback is checked too', async () => {
    const r = rig(smallTree());
    r.sim.get('0000:00:02.0').set(0x00, 2, 0x1022);
    const res = await r.run([step({ method: 'flr', target: '0000:02:00.0', fallbacks: ['bus'] })]);
    expect(res.steps[0]!.error).toMatch(/^ESTALE in probe 0000:00:02.0: .*vendor 0x1022 \(scan: 0x8086\)/);
  });

  it('an unchanged machine, a VF reading 0xFFFF IDs and a function that does not answer are not stale', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'flr', target: EP })]);
    expect(res.steps[0]!.status).toBe('ok');
  });
});
