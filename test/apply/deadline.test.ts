import { describe, expect, it } from 'vitest';
import { exitStatus } from '../../src/apply/run-apply.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { rig, step } from './fixture.js';
import { smallTree } from './trees.js';

describe('the global deadline', () => {
  it('cuts a wait short, abandons what has not started, and leaves every bus out of reset', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:01:00.0': { readyDelayMs: 5000 } } });
    const steps = [
      step({ id: 1, method: 'flr', target: '0000:01:00.0', wave: 1 }),
      step({ id: 2, method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'], wave: 1 }),
      step({ id: 3, method: 'flr', target: '0000:05:00.0', wave: 2 }),
    ];
    const res = await r.run(steps, { deadlineMs: 1000 });
    expect(res.deadlineReached).toBe(true);
    const [a, b, c] = res.steps;
    expect(a).toMatchObject({ status: 'abandoned' });
    expect(a!.error).toMatch(/deadline reached during waiting for 0000:01:00.0 to answer after FLR/);
    expect(a!.notes.join()).toMatch(/left at power-on values with Bus Master off/);
    expect(b!.status).toBe('ok');
    expect(c).toMatchObject({ status: 'abandoned', error: 'deadline reached before the step started', durationMs: 0 });
    expect(r.clock.now()).toBe(1000);
    expect(r.sim.readConfigAt('0000:00:02.0', 0x3e, 2) & 0x40).toBe(0);
    expect(r.sim.resetLog.filter((x) => x.bdf === '0000:05:00.0')).toEqual([]);
    expect(exitStatus({ deadlineReached: res.deadlineReached, steps: res.steps })).toBe(EXIT.APPLY_DEADLINE);
  });

  it('the reset pulse is held its full 2 ms even when the deadline falls inside it', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] })], { deadlineMs: 1 });
    expect(res.steps[0]!.status).toBe('abandoned');
    expect(r.sim.violations).toEqual([]);
    expect(r.sim.readConfigAt('0000:00:02.0', 0x3e, 2) & 0x40).toBe(0);
  });

  it('a write blocked in the kernel is abandoned after a grace period, and reset_method is still put back', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:01:00.0', action: { kind: 'hang' } });
    const res = await r.run([step({ method: 'kernel:pm', target: '0000:01:00.0' }), step({ method: 'flr', target: '0000:02:00.0' })], { deadlineMs: 3000 });
    expect(res.stuck).toEqual([res.steps[0]!.id]);
    expect(res.steps[0]).toMatchObject({ status: 'abandoned', error: 'deadline reached while the step was blocked (a write still in the kernel)' });
    expect(res.steps[1]!.status).toBe('ok');
    expect(r.sim.readAttribute('0000:01:00.0', 'reset_method')).toBe('flr pm bus\n');
    expect(r.clock.now()).toBe(3250);
  });

  it('a run that finishes early leaves no timer behind', async () => {
    const r = rig(smallTree());
    await r.run([step({ method: 'flr', target: '0000:01:00.0' })], { deadlineMs: 30000 });
    expect(r.clock.now()).toBe(100);
    expect(r.clock.pending).toBe(0);
  });
});
