import { describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { rig, step } from './fixture.js';
import { endpoint, rootPort, smallTree } from './trees.js';

const BDF = '0000:01:00.0';
const listing = (r: ReturnType<typeof rig>, bdf = BDF): string | null => r.sim.readAttribute(bdf, 'reset_method');

describe('kernel:<m> puts reset_method back on every path', () => {
  it('after a reset that worked', async () => {
    const r = rig(smallTree());
    expect((await r.run([step({ method: 'kernel:pm', target: BDF })])).steps[0]!.status).toBe('ok');
    expect(listing(r)).toBe('flr pm bus\n');
  });

  it('after the kernel answered ENOTTY (and the fallback ran)', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', action: { kind: 'error', code: 'ENOTTY' } });
    const res = await r.run([step({ method: 'kernel:pm', target: BDF, fallbacks: ['flr'] })]);
    expect(res.steps[0]).toMatchObject({ status: 'ok', methodUsed: 'flr' });
    expect(listing(r)).toBe('flr pm bus\n');
  });

  it('after the reset failed', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', action: { kind: 'error', code: 'EIO' } });
    expect((await r.run([step({ method: 'kernel:flr', target: BDF })])).steps[0]!.status).toBe('failed');
    expect(listing(r)).toBe('flr pm bus\n');
  });

  it('when the kernel refuses the method itself (nothing was changed; the chain goes on)', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'kernel:af_flr', target: BDF, fallbacks: ['kernel:flr'] })]);
    expect(res.steps[0]!.attempts.map((a) => [a.method, a.result])).toEqual([['kernel:af_flr', 'not-supported'], ['kernel:flr', 'ok']]);
    expect(res.steps[0]!.attempts[0]!.detail).toMatch(/refuses reset_method "af_flr".*Unsupported reset method 'af_flr'/);
    expect(listing(r)).toBe('flr pm bus\n');
  });

  it('when the run is abandoned with the reset write still blocked', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', action: { kind: 'hang' } });
    const res = await r.run([step({ method: 'kernel:pm', target: BDF })], { deadlineMs: 500 });
    expect(res.steps[0]!.status).toBe('abandoned');
    // Never written while the reset is in the kernel: put back when the write returns (here it never does).
    expect(listing(r)).toBe('pm\n');
    expect(res.steps[0]!.notes.join()).toMatch(/reset_method is put back to "flr pm bus" when the kernel's reset returns/);
  });

  it('a reset still in the kernel when the step gives up on it: reset_method is put back only when the write returns', async () => {
    // The kernel's FLR waits for the function, which answers after 5 s; the step gives up at 1.5 s.
    const r = rig(smallTree(), { behaviour: { [BDF]: { readyDelayMs: 5000 } } });
    const res = await r.run([step({ method: 'kernel:flr', target: BDF })], { readyTimeoutMs: 500 });
    expect(res.steps[0]!.error).toMatch(/^ETIMEDOUT in reset 0000:01:00.0: the write of "1" to reset has not returned after 1500 ms/);
    expect(res.steps[0]!.notes.join()).toMatch(/reset_method is put back to "flr pm bus" when the kernel's reset returns .* if the process is killed before then it stays "flr"/);
    // Not written mid-reset: the only reset_method write so far is the one that selected flr.
    const rmWrites = (): number[] => r.sim.trace.filter((t) => t.op === 'writeAttribute' && t.name === 'reset_method').map((t) => t.t);
    expect(rmWrites()).toEqual([0]);
    expect(listing(r)).toBe('flr\n');
    await r.clock.sleep(10000);
    expect(listing(r)).toBe('flr pm bus\n');
    // Written back once the reset write had returned (it is traced when it completes).
    const reset = r.sim.trace.find((t) => t.op === 'writeAttribute' && t.name === 'reset')!;
    expect(rmWrites()[1]).toBeGreaterThanOrEqual(reset.t);
  });

  it('a stale listing the kernel will not take back becomes "default", and the report says so', async () => {
    // Function 0 of a two-function device: the kernel listed bus at enumeration but refuses it now.
    const tree = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint(BDF, '0000:00:01.0', { resetMethod: ['flr', 'bus'] }))
      .add(endpoint('0000:01:00.1', '0000:00:01.0'));
    const r = rig(tree);
    const res = await r.run([step({ method: 'kernel:flr', target: BDF })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.notes.join()).toMatch(/reset_method "flr bus" was refused back \(EINVAL\); wrote "default" instead/);
    expect(res.steps[0]!.notes.join()).toMatch(/reset_method reads "flr pm" after restore \(was "flr bus"\)/);
    expect(listing(r)).toBe('flr pm\n');
  });

  it('an empty listing (every method disabled by the admin) is put back empty', async () => {
    const r = rig(smallTree());
    r.sim.writeAttribute(BDF, 'reset_method', '\n');
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', action: { kind: 'drop' } });
    const res = await r.run([step({ method: 'kernel:flr', target: BDF })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(listing(r)).toBe('\n');
  });

  it('a put-back write that fails once (EIO) or does not stick is made again, and the listing is what it was', async () => {
    for (const action of [{ kind: 'error', code: 'EIO' } as const, { kind: 'drop' } as const]) {
      const r = rig(smallTree());
      // The first reset_method write selects pm; the second puts the listing back.
      r.sim.faults.add({ op: 'writeAttribute', name: 'reset_method', bdf: BDF, after: 1, times: 1, action });
      const res = await r.run([step({ method: 'kernel:pm', target: BDF })]);
      expect(res.steps[0]!.status).toBe('ok');
      expect(listing(r)).toBe('flr pm bus\n');
      expect(res.steps[0]!.notes.join()).toMatch(/reset_method put back to "flr pm bus" on a second write/);
    }
  });

  it('a write to reset_method that blocks in the kernel (selecting) fails the step at its limit; the put-back waits for it', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset_method', bdf: BDF, times: 1, action: { kind: 'hang' } });
    const res = await r.run([step({ method: 'kernel:pm', target: BDF })], { readyTimeoutMs: 500 });
    expect(res.steps[0]!.error).toMatch(/the write of "pm" to reset_method has not returned after 1500 ms/);
    expect(res.steps[0]!.notes.join()).toMatch(/reset_method is put back to "flr pm bus" when the kernel's reset returns/);
    // No reset was asked for while the selection was still in the kernel.
    expect(r.sim.trace.filter((t) => t.op === 'writeAttribute' && t.name === 'reset')).toEqual([]);
  });

  it('a put-back write to reset_method that blocks is left in the kernel, named, and the step goes on', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset_method', bdf: BDF, after: 1, times: 1, action: { kind: 'hang' } });
    const res = await r.run([step({ method: 'kernel:pm', target: BDF })], { readyTimeoutMs: 500 });
    expect(res.steps[0]!.notes.join()).toMatch(/reset_method not put back to "flr pm bus": .*the write of "flr pm bus" to reset_method has not returned after \d+ ms: left in the kernel \(outcome unknown\)/);
  });
});
