import { describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { planOf, rig, step } from './fixture.js';
import { endpoint, rootPort, smallTree } from './trees.js';

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
    expect(dead!.notes.join()).toMatch(/0000:01:00.0 reset but not restored: it does not answer \(left at power-on values/);
    expect(dead!.leftUnrestored).toEqual(['0000:01:00.0']);
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

  it('reset_method write refused (EACCES): failed naming the refusal, the listing left as it was', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset_method', bdf: '0000:01:00.0', times: 1, action: { kind: 'error', code: 'EACCES' } });
    const res = await r.run([step({ method: 'kernel:pm', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.error).toMatch(/^EACCES in reset 0000:01:00.0: the kernel refuses reset_method "pm"/);
    expect(r.sim.readAttribute('0000:01:00.0', 'reset_method')).toBe('flr pm bus\n');
    expect(r.sim.resetLog).toEqual([]);
  });
});

/** Defects the fault sweeps (every-io-fails.test.ts) found, each fixed; one test per fix. */
describe('regressions found by the fault sweeps', () => {
  it('a LnkSta read that fails while waiting for the link after a bus reset is retried: nothing below is touched inside its wait', async () => {
    const r = rig(smallTree());
    // 0000:00:03.0 is an 8 GT/s port with DLLLA reporting: the first LnkSta read comes 20 ms after the pulse.
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:00:03.0', offset: 0x82, times: 1, action: { kind: 'error', code: 'EIO' } });
    const below = r.scan.devices.find((d) => d.bdf === '0000:00:03.0')!.below;
    const res = await r.run([step({ method: 'bus', target: '0000:00:03.0', functions: below })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.violations).toEqual([]);
  });

  it('a LnkSta that cannot be read at all: failed with the read\'s errno after the 1 s the link has', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:00:03.0', offset: 0x82, action: { kind: 'error', code: 'EIO' } });
    const below = r.scan.devices.find((d) => d.bdf === '0000:00:03.0')!.below;
    const res = await r.run([step({ method: 'bus', target: '0000:00:03.0', functions: below })]);
    expect(res.steps[0]!.error).toMatch(/^EIO in wait 0000:00:03.0: Data Link Layer Link Active not set in 1000 msec \(last LnkSta read failed: .*injected fault/);
    expect(r.sim.violations).toEqual([]);
  });

  it('a bridge that ignores the write asserting Secondary Bus Reset: failed, not reported as a reset', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeConfigAt', bdf: '0000:00:02.0', offset: 0x3e, times: 1, action: { kind: 'drop' } });
    const res = await r.run([step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] })]);
    expect(res.steps[0]!.error).toMatch(/^EIO in reset 0000:00:02.0: Secondary Bus Reset does not read back set after the write that asserts it: the bus was not reset/);
    expect(r.sim.resetLog).toEqual([]);
    expect(r.sim.readConfigAt('0000:02:00.0', 0x04, 2) & 0x4).toBe(0);
  });

  it('a function that ignores Initiate FLR: failed (Command still holds INTx Disable), not reported as reset', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeConfigAt', bdf: '0000:01:00.0', offset: 0x78, times: 1, action: { kind: 'drop' } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    expect(r.sim.resetLog).toEqual([]);
    expect(res.steps[0]!.error).toMatch(/^EIO in wait 0000:01:00.0: reset had no effect: Command still 0x0400 after the FLR \(INTx Disable, written before it, is still set\): the function was not reset/);
  });

  it('PM: a function that ignores the D3hot write, or stays in D3hot after the D0 write: failed, not reported as reset', async () => {
    const d3 = rig(smallTree());
    d3.sim.faults.add({ op: 'writeConfigAt', bdf: '0000:01:00.0', offset: 0x44, times: 1, action: { kind: 'drop' } });
    const a = await d3.run([step({ method: 'pm', target: '0000:01:00.0' })]);
    expect(a.steps[0]!.error).toMatch(/^EIO in reset 0000:01:00.0: PMCSR reads D0 after the write of D3hot: the function did not enter D3hot, so it was not reset/);
    const d0 = rig(smallTree());
    d0.sim.faults.add({ op: 'writeConfigAt', bdf: '0000:01:00.0', offset: 0x44, after: 1, times: 1, action: { kind: 'drop' } });
    const b = await d0.run([step({ method: 'pm', target: '0000:01:00.0' })]);
    expect(b.steps[0]!.error).toMatch(/^EIO in wait 0000:01:00.0: PMCSR still reads D3 after the write of D0: the function did not come back to D0, so it was not reset/);
    expect(d0.sim.resetLog).toEqual([]);
  });

  it('a kernel reset that blocks (a dead function: the kernel polls it 60 s) is given up after its limit; later waves still run', async () => {
    const r = rig(smallTree());
    r.sim.vanish('0000:00:1f.0');
    const res = await r.run(
      [
        step({ id: 1, method: 'kernel', target: '0000:00:1f.0', waits: [{ what: 'flr', ms: 100 }], wave: 1 }),
        step({ id: 2, method: 'flr', target: '0000:01:00.0', wave: 2 }),
        step({ id: 3, method: 'kernel', target: '0000:02:00.0', wave: 3 }),
      ],
      { readyTimeoutMs: 2000, deadlineMs: 30000 },
    );
    const [dead, a, b] = res.steps;
    // Limit: planned waits 100 + ready timeout 2000 + 1000.
    expect(dead).toMatchObject({ status: 'failed', durationMs: 3100 });
    expect(dead!.error).toMatch(/^ETIMEDOUT in reset 0000:00:1f.0: the write of "1" to reset has not returned after 3100 ms .*still blocked in the kernel/);
    expect(dead!.notes.join()).toMatch(/not restored or checked: the kernel may still be resetting it/);
    expect([a!.status, b!.status]).toEqual(['ok', 'ok']);
    expect(res.deadlineReached).toBe(false);
    // The write is still in the kernel (it returns at 100 + 60000 ms) when the run ends: reported, not waited for.
    expect(res.stuck).toEqual([1]);
    expect(r.clock.now()).toBeLessThan(3500);
  });

  it('a step that shares a bridge with one still blocked in the kernel is not started, and says why at once', async () => {
    const tree = smallTree((t) => t.add(endpoint('0000:05:00.1', '0000:04:08.0', { device: 0x10fc })));
    const r = rig(tree);
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:05:00.0', action: { kind: 'hang' } });
    const res = await r.run(
      [step({ id: 1, method: 'kernel', target: '0000:05:00.0', wave: 1 }), step({ id: 2, method: 'kernel', target: '0000:05:00.1', wave: 2 }), step({ id: 3, method: 'flr', target: '0000:01:00.0', wave: 2 })],
      { readyTimeoutMs: 1000 },
    );
    expect(res.steps.map((s) => s.status)).toEqual(['failed', 'failed', 'ok']);
    expect(res.steps[1]!.error).toBe('EBUSY in probe 0000:05:00.1: not started: step 1 is still blocked in the kernel holding 0000:04:08.0');
    expect(res.stuck).toEqual([1]);
    expect(r.clock.now()).toBe(2100);
  });
});

describe('a reset the hardware ignores is caught: Command still holds the INTx Disable written before it', () => {
  it('FLR: failed, everything restored but Bus Master, which stays off', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:01:00.0': { ignoresReset: true } } });
    r.sim.writeConfigAt('0000:01:00.0', 0x04, 2, 0x0406);
    r.sim.trace.length = 0;
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^EIO in wait 0000:01:00.0: reset had no effect: Command still 0x0400 after the FLR/);
    expect(r.sim.resetLog.map((x) => x.kind)).toEqual(['ignored:flr']);
    expect(r.sim.readConfigAt('0000:01:00.0', 0x04, 2)).toBe(0x0402);
    expect(s.restoreMismatches).toEqual([]);
  });

  it('PM: a function that comes back from D3hot unchanged (a wrong No_Soft_Reset) fails the step', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:00:1f.0': { ignoresReset: true } } });
    const res = await r.run([step({ method: 'pm', target: '0000:00:1f.0' })]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.error).toMatch(/reset had no effect: Command still 0x0400 after the PM reset/);
    expect(r.sim.readConfigAt('0000:00:1f.0', 0x44, 2) & 3).toBe(0);
  });

  it('bus: a bridge whose Secondary Bus Reset reaches nothing below fails, and what is below keeps Bus Master off', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:00:02.0': { ignoresReset: true } } });
    r.sim.writeConfigAt('0000:02:00.0', 0x04, 2, 0x0406);
    const res = await r.run([step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^EIO in verify 0000:02:00.0: reset had no effect: Command still 0x0400 after the bus reset/);
    expect(s.notes.join()).toMatch(/0000:02:00.0 restored with Bus Master left off: the bus reset had no effect on it/);
    expect(r.sim.readConfigAt('0000:02:00.0', 0x04, 2)).toBe(0x0402);
    expect(r.sim.readConfigAt('0000:00:02.0', 0x3e, 2) & 0x40).toBe(0);
    expect(r.sim.violations).toEqual([]);
  });
});

/**
 * The last phase of a capture-kernel run: Bus Master cleared (pci_clear_master(), as the kexec shutdown
 * path does) on every in-scope function that was not reset ok, unless a driver is bound to it.
 */
describe('functions not reset get Bus Master cleared at the end of a capture-kernel run', () => {
  const tree = (): MockTree =>
    new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { driver: undefined }))
      .add(rootPort('0000:00:02.0', 2, 2))
      .add(endpoint('0000:02:00.0', '0000:00:02.0', { driver: undefined }))
      .add(rootPort('0000:00:03.0', 3, 3))
      .add(endpoint('0000:03:00.0', '0000:00:03.0', { driver: 'nvme', classCode: 0x010802 }))
      .add(endpoint('0000:00:1f.0', undefined, { driver: undefined }))
      .file('proc/vmcore', '');
  const master = (r: ReturnType<typeof rig>, bdf: string): number => r.sim.readConfigAt(bdf, 0x04, 2) & 0x4;

  it('a failed kernel step, an unresettable function: cleared; a reset one and the dump target with its driver: left alone', async () => {
    const r = rig(tree());
    for (const b of ['0000:01:00.0', '0000:02:00.0', '0000:03:00.0', '0000:00:1f.0']) r.sim.writeConfigAt(b, 0x04, 2, 0x0406);
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:01:00.0', action: { kind: 'error', code: 'EIO' } });
    const plan = {
      ...planOf([step({ id: 1, method: 'kernel', target: '0000:01:00.0' }), step({ id: 2, method: 'flr', target: '0000:00:1f.0' })]),
      unresettable: [
        { bdf: '0000:02:00.0', reason: 'no safe method' },
        { bdf: '0000:03:00.0', reason: 'the dump target' },
      ],
    };
    const res = await r.run(plan, {}, { stopDma: true });
    expect(res.steps.map((s) => s.status)).toEqual(['failed', 'ok']);
    expect(res.busMasterCleared).toEqual(['0000:01:00.0', '0000:02:00.0']);
    expect(res.busMasterLeftOn).toEqual([{ bdf: '0000:03:00.0', reason: 'driver nvme is bound: clearing Bus Master under a live driver would break it' }]);
    expect(res.steps[0]!.notes).toContain('0000:01:00.0: DMA stopped (Bus Master cleared), not reset');
    // Only bit 2: decode stays as the kernel restored it.
    expect(r.sim.readConfigAt('0000:01:00.0', 0x04, 2)).toBe(0x0402);
    expect(master(r, '0000:02:00.0')).toBe(0);
    expect(master(r, '0000:03:00.0')).toBe(4);
    expect(master(r, '0000:00:1f.0')).toBe(4);
    expect(r.log.events.filter((e) => e.event === 'apply.bus_master').map((e) => [e.bdf, e.result])).toEqual([
      ['0000:01:00.0', 'cleared'],
      ['0000:02:00.0', 'cleared'],
      ['0000:03:00.0', 'left'],
    ]);
  });

  it('not on a live system (the option off): nothing is touched', async () => {
    const r = rig(tree());
    r.sim.writeConfigAt('0000:02:00.0', 0x04, 2, 0x0406);
    const res = await r.run({ ...planOf([]), unresettable: [{ bdf: '0000:02:00.0', reason: 'x' }] });
    expect(res.busMasterCleared).toEqual([]);
    expect(master(r, '0000:02:00.0')).toBe(4);
  });

  it('bounded: a function whose access hangs uses up the phase budget, the rest are reported, not waited for', async () => {
    const r = rig(tree());
    for (const b of ['0000:02:00.0', '0000:00:1f.0']) r.sim.writeConfigAt(b, 0x04, 2, 0x0406);
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:02:00.0', offset: 0x04, times: 1, action: { kind: 'slow', ms: 300 } });
    const plan = { ...planOf([]), unresettable: [{ bdf: '0000:02:00.0', reason: 'x' }, { bdf: '0000:00:1f.0', reason: 'y' }] };
    const res = await r.run(plan, { deadlineMs: 10 }, { stopDma: true });
    expect(res.busMasterCleared).toEqual(['0000:02:00.0']);
    expect(res.busMasterLeftOn).toEqual([{ bdf: '0000:00:1f.0', reason: 'not reached: the 200 ms after the deadline for this phase were used up' }]);
    expect(r.clock.now()).toBe(300);
  });

  it('a function that does not answer, or whose write fails, is reported and the next one is still done', async () => {
    const r = rig(tree());
    for (const b of ['0000:01:00.0', '0000:02:00.0', '0000:00:1f.0']) r.sim.writeConfigAt(b, 0x04, 2, 0x0406);
    r.sim.vanish('0000:01:00.0');
    r.sim.faults.add({ op: 'writeConfigAt', bdf: '0000:02:00.0', offset: 0x04, action: { kind: 'error', code: 'EIO' } });
    const plan = { ...planOf([]), unresettable: ['0000:01:00.0', '0000:02:00.0', '0000:00:1f.0'].map((bdf) => ({ bdf, reason: 'x' })) };
    const res = await r.run(plan, {}, { stopDma: true });
    expect(res.busMasterCleared).toEqual(['0000:00:1f.0']);
    expect(res.busMasterLeftOn.map((x) => x.bdf)).toEqual(['0000:01:00.0', '0000:02:00.0']);
    expect(res.busMasterLeftOn[0]!.reason).toMatch(/does not answer/);
    expect(res.busMasterLeftOn[1]!.reason).toMatch(/clearing Bus Master failed: .*EIO|clearing Bus Master failed/);
  });
});
