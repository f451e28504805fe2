import { describe, expect, it } from 'vitest';
import { rig, step } from './fixture.js';
import { endpoint, smallTree } from './trees.js';

const writesTo = (r: ReturnType<typeof rig>, bdf: string) => r.sim.trace.filter((t) => t.bdf === bdf && (t.op === 'writeConfigAt' || t.op === 'writeAttribute'));

describe('each injected fault ends in a clear report, and the rest of the run goes on', () => {
  it('EIO reading the function before the reset: failed, nothing written', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:01:00.0', offset: 0x10, action: { kind: 'error', code: 'EIO' } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    expect(res.steps[0]).toMatchObject({ status: 'failed' });
    expect(res.steps[0]!.error).toMatch(/^EIO in save 0000:01:00.0: config read of BAR0@0x10/);
    expect(writesTo(r, '0000:01:00.0')).toEqual([]);
  });

  it('EIO on the write that starts the FLR: failed; the function is put back with Bus Master off', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeConfigAt', bdf: '0000:01:00.0', offset: 0x78, times: 1, action: { kind: 'error', code: 'EIO' } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.error).toMatch(/^EIO in reset 0000:01:00.0: config write of DevCtl at 0x78/);
    expect(r.sim.readConfigAt('0000:01:00.0', 4, 2) & 4).toBe(0);
  });

  it('a function that never comes back is given up at its own timeout; the others finish', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:01:00.0': { neverReady: true } } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' }), step({ method: 'flr', target: '0000:05:00.0' })], { readyTimeoutMs: 2000 });
    const [dead, fine] = res.steps;
    expect(dead!.status).toBe('failed');
    expect(dead!.error).toMatch(/^ETIMEDOUT in wait 0000:01:00.0: not ready 20\d\dms after FLR; giving up \(still answering with Request Retry Status\)/);
    expect(dead!.notes.join()).toMatch(/0000:01:00.0 not restored: it does not answer/);
    expect(fine!.status).toBe('ok');
    expect(fine!.durationMs).toBe(100);
    expect(res.deadlineReached).toBe(false);
  });

  it('a function that vanishes at the reset (reads all-ones) times out; one whose directory goes fails at once', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:02:00.0': { vanishOnReset: true } } });
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:01:00.0', offset: 0x78, after: 1, times: 1, action: { kind: 'vanish', how: 'removed' } });
    const res = await r.run([step({ method: 'flr', target: '0000:02:00.0' }), step({ method: 'flr', target: '0000:01:00.0' })], { readyTimeoutMs: 500 });
    expect(res.steps[0]!.error).toMatch(/^ETIMEDOUT in wait 0000:02:00.0: not ready .* \(config reads all-ones\)/);
    expect(res.steps[1]!.error).toMatch(/^ENOENT in reset 0000:01:00.0/);
  });

  it('reset answered ENOTTY: the next method in the chain; with none left, failed naming every attempt', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', action: { kind: 'error', code: 'ENOTTY' } });
    const res = await r.run([step({ method: 'kernel', target: '0000:01:00.0', fallbacks: ['flr'] }), step({ method: 'kernel', target: '0000:02:00.0' })]);
    expect(res.steps[0]).toMatchObject({ status: 'ok', methodUsed: 'flr' });
    expect(res.steps[1]!.status).toBe('failed');
    expect(res.steps[1]!.error).toMatch(/^no method in the chain applies: kernel: ENOTTY in reset 0000:02:00.0: write of "1" to reset/);
  });

  it('reset answered EINVAL: failed, no fallback (the kernel did not say "not supported")', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', action: { kind: 'error', code: 'EINVAL' } });
    const res = await r.run([step({ method: 'kernel', target: '0000:01:00.0', fallbacks: ['flr'] })]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.attempts.map((a) => a.method)).toEqual(['kernel']);
    expect(res.steps[0]!.error).toMatch(/^EINVAL in reset/);
  });

  it('reset answered EBUSY: tried once more after 100 ms', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:01:00.0', times: 1, action: { kind: 'error', code: 'EBUSY' } });
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:02:00.0', action: { kind: 'error', code: 'EBUSY' } });
    const res = await r.run([step({ method: 'kernel', target: '0000:01:00.0' }), step({ method: 'kernel', target: '0000:02:00.0' })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.notes.join()).toMatch(/answered EBUSY; trying once more/);
    expect(res.steps[1]!.status).toBe('failed');
    expect(res.steps[1]!.error).toMatch(/^EBUSY in reset 0000:02:00.0/);
  });

  it('a Secondary Bus Reset bit that will not clear: failed, saying the bus is held in reset', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:00:02.0': { stuckResetBit: true } } });
    const res = await r.run([step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] })]);
    expect(res.steps[0]!.error).toMatch(/^EIO in reset 0000:00:02.0: Secondary Bus Reset stays set .* held in reset/);
  });

  it('an Initiate FLR bit that reads back 1: failed', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:01:00.0': { stuckResetBit: true } } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.error).toMatch(/Initiate Function Level Reset still reads 1/);
  });

  it('Transactions Pending that never clears: 0/100/300/700 ms of polling, then the FLR anyway', async () => {
    const tree = smallTree((t) => t.add(endpoint('0000:00:1e.0', undefined, { pcie: { type: 'rc_integrated_endpoint', flr: true, transactionsPending: true } })));
    const r = rig(tree, { behaviour: { '0000:00:1e.0': { pendingMs: 'never' } } });
    const res = await r.run([step({ method: 'flr', target: '0000:00:1e.0' })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('ok');
    expect(s.waits).toContainEqual({ what: 'pending-transactions', ms: 700 });
    expect(s.notes.join()).toMatch(/timed out waiting for pending transaction; performing function level reset anyway/);
  });

  it('Transactions Pending that clears after 150 ms: the FLR goes at the 300 ms read', async () => {
    const tree = smallTree((t) => t.add(endpoint('0000:00:1e.0', undefined, { pcie: { type: 'rc_integrated_endpoint', flr: true, transactionsPending: true } })));
    const r = rig(tree);
    const res = await r.run([step({ method: 'flr', target: '0000:00:1e.0' })]);
    expect(res.steps[0]!.waits).toContainEqual({ what: 'pending-transactions', ms: 300 });
    expect(res.steps[0]!.notes).toEqual([]);
  });

  it('a link that never trains after a bus reset: failed after 1 s of DLLLA polling', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:00:01.0': { linkNeverUp: true } } });
    const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'] })]);
    expect(res.steps[0]!.error).toMatch(/^ENOTTY in wait 0000:00:01.0: Data Link Layer Link Active not set in 1000 msec/);
    expect(r.sim.readConfigAt('0000:00:01.0', 0x3e, 2) & 0x40).toBe(0);
  });

  it('VFIO_DEVICE_RESET answering EAGAIN: failed with the ioctl named', async () => {
    const r = rig(smallTree((t) => t.add(endpoint('0000:00:1e.0', undefined, { driver: 'vfio-pci' }))));
    r.sim.faults.add({ op: 'vfio', name: 'DEVICE_RESET', action: { kind: 'error', code: 'EAGAIN' } });
    const res = await r.run([step({ method: 'vfio', target: '0000:00:1e.0' })]);
    expect(res.steps[0]!.error).toMatch(/^EAGAIN in reset 0000:00:1e.0: VFIO_DEVICE_RESET/);
  });
});
