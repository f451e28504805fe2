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
    expect(listing(r)).toBe('flr pm bus\n');
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
});
