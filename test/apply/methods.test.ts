import { describe, expect, it } from 'vitest';
import { LAYOUT } from '../../src/mock/config-builder.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import type { PlanStep } from '../../src/plan/plan.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { defaultTable } from '../../src/quirks/load.js';
import { iommu } from '../plan/helpers.js';
import { Root } from '../../src/access/root.js';
import { Deadline } from '../../src/apply/deadline.js';
import { MemoryLog } from '../../src/apply/event-log.js';
import { ExecTopology } from '../../src/apply/exec-topology.js';
import { executePlan } from '../../src/apply/execute.js';
import { scan } from '../../src/scan/scan.js';
import { loadSimulator } from '../../src/simulator/load.js';
import type { PciSimulator } from '../../src/simulator/simulator.js';
import { RealClock } from '../../src/time/clock.js';
import { pulseTogether } from '../../src/apply/methods/bus-pulse.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { planOf, rig, step, type Rig } from './fixture.js';
import { endpoint, rootPort, smallTree } from './trees.js';

/**
 * Run one step and check what every method must guarantee: it is ok, the functions were really reset,
 * every saved register reads back, nothing outside the step's functions (and the bridge for bus) was
 * written, no mandated wait was cut short, and device state is what it was before.
 */
async function resetAndCheck(r: Rig, s: PlanStep, kinds: string[]): Promise<void> {
  const before = r.sim.snapshot();
  const res = await r.run([s]);
  const report = res.steps[0]!;
  expect(report.error).toBeUndefined();
  expect(report.status).toBe('ok');
  expect(report.restoreMismatches).toEqual([]);
  expect(r.sim.violations).toEqual([]);
  expect(new Set(r.sim.resetLog.map((x) => x.kind))).toEqual(new Set(kinds));
  for (const f of s.functions) expect(r.sim.resetLog.some((x) => x.bdf === f)).toBe(true);
  const allowed = new Set([...s.functions, s.target]);
  const writes = r.sim.trace.filter((t) => (t.op === 'writeConfigAt' || t.op === 'writeAttribute') && !allowed.has(t.bdf!));
  expect(writes).toEqual([]);
  expect(r.sim.diff(before)).toEqual([]);
}

/** The simulator of `dir` scanned, then `steps` run on it in real time: the bus pulse is held for real. */
const realRun = async (sim: PciSimulator, dir: string, clock: RealClock, steps: PlanStep[], deadlineMs = 30000, readyTimeoutMs = 10000) => {
  const topo = new ExecTopology(scan(sim, dir));
  sim.trace.length = 0;
  return executePlan(planOf(steps), { access: sim, clock, log: new MemoryLog(), topo, deadline: new Deadline(clock, clock.now() + deadlineMs), readyTimeoutMs, vfio: () => Promise.reject(new Error('no vfio')), preferResetSubordinate: false });
};

describe('every method on the simulator, with save and restore verified', () => {
  it('flr: Bus Master off, DevCtl bit 15, 100 ms, then restore of every programmed register', async () => {
    const r = rig(smallTree());
    const bdf = '0000:01:00.0';
    await resetAndCheck(r, step({ method: 'flr', target: bdf }), ['flr']);
    const writes = r.sim.trace.filter((t) => t.op === 'writeConfigAt' && t.bdf === bdf);
    expect(writes[0]).toMatchObject({ offset: 4, width: 2, value: 0x0400 });
    expect(writes[1]).toMatchObject({ offset: LAYOUT.pcie + 8, value: 0x593f | 0x8000 });
    expect(r.clock.now()).toBe(100);
  });

  it('flr with Immediate Readiness skips the 100 ms', async () => {
    const r = rig(new MockTree().add(endpoint('0000:00:1f.0', undefined, { immediateReadiness: true })), { defaults: { readyDelayMs: 0 } });
    await resetAndCheck(r, step({ method: 'flr', target: '0000:00:1f.0' }), ['flr']);
    expect(r.clock.now()).toBe(0);
  });

  it('flr refuses a bridge (a switch port FLR takes everything below down)', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'flr', target: '0000:04:08.0' })]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.error).toMatch(/never FLR a bridge/);
    expect(r.sim.trace.filter((t) => t.op === 'writeConfigAt')).toEqual([]);
  });

  it('af_flr through the Advanced Features capability', async () => {
    const tree = new MockTree()
      .add(rootPort('0000:00:1e.0', 1, 2, { linkSpeed: 1 }))
      .add({ bdf: '0000:01:00.0', parent: '0000:00:1e.0', vendor: 0x1b21, device: 0x1080, classCode: 0x060401, bridge: { secondaryBus: 2, subordinateBus: 2 }, pcie: { type: 'pcie_to_pci_bridge', linkSpeed: 1 } })
      .add({ bdf: '0000:02:01.0', parent: '0000:01:00.0', vendor: 0x8086, device: 0x107c, classCode: 0x020000, pm: { version: 2 }, af: { tp: true, flr: true }, msi: true, driver: 'e1000', patchConfig: (b) => ((b[0x3c] = 0x0a), (b[0x52] = 0x81)) });
    const r = rig(tree);
    await resetAndCheck(r, step({ method: 'af_flr', target: '0000:02:01.0' }), ['af_flr']);
  });

  it('pm: D3hot, the d3hot delay the plan gives, D0, the delay again', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:00:1f.0': { d3hotMs: 40 } } });
    await resetAndCheck(r, step({ method: 'pm', target: '0000:00:1f.0', d3hotDelayMs: 40 }), ['pm']);
    expect(r.clock.now()).toBe(80);
  });

  it('pm is not supported with No_Soft_Reset, and the chain falls back', async () => {
    const r = rig(new MockTree().add(endpoint('0000:00:1f.0', undefined, { pm: { version: 3, noSoftReset: true } })));
    const res = await r.run([step({ method: 'pm', target: '0000:00:1f.0', fallbacks: ['flr'] })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('ok');
    expect(s.methodUsed).toBe('flr');
    expect(s.attempts.map((a) => [a.method, a.result])).toEqual([['pm', 'not-supported'], ['flr', 'ok']]);
  });

  it('bus on a root port below 5 GT/s: 2 ms pulse, 100 ms, poll, restore', async () => {
    const r = rig(smallTree());
    await resetAndCheck(r, step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] }), ['bus']);
    const s = r.sim.trace.filter((t) => t.op === 'writeConfigAt' && t.bdf === '0000:00:02.0').map((t) => t.value);
    expect(s).toEqual([0x0050, 0x0010]);
  });

  it('bus above 5 GT/s with DLLLA: the link is awaited, then 100 ms; a switch below is restored top-down', async () => {
    const r = rig(smallTree(), { behaviour: { '0000:00:03.0': { linkUpMs: 300 } } });
    const below = ['0000:03:00.0', '0000:04:08.0', '0000:05:00.0', '0000:04:09.0', '0000:06:00.0'];
    await resetAndCheck(r, step({ method: 'bus', target: '0000:00:03.0', functions: below }), ['bus']);
    const waits = (await Promise.resolve(r.log.events)).filter((e) => e.event === 'step.restored').map((e) => e.bdf);
    expect(waits.indexOf('0000:03:00.0')).toBeLessThan(waits.indexOf('0000:04:08.0'));
    expect(waits.indexOf('0000:04:08.0')).toBeLessThan(waits.indexOf('0000:05:00.0'));
    expect(r.clock.now()).toBeGreaterThanOrEqual(2 + 300 + 100);
  });

  it('bus above 5 GT/s without DLLLA reporting waits 1000 + 100 ms', async () => {
    const tree = new MockTree().add(rootPort('0000:00:01.0', 1, 1, { linkSpeed: 4, dllla: false })).add(endpoint('0000:01:00.0', '0000:00:01.0'));
    const r = rig(tree);
    const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'] })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.waits).toContainEqual({ what: 'secondary-bus', ms: 1100 });
  });

  it('bus prefers the bridge reset_subordinate file, and checks the kernel restore', async () => {
    const r = rig(smallTree(), { resetSubordinate: true });
    const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'] })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('ok');
    expect(s.notes.join()).toMatch(/reset_subordinate/);
    expect(r.sim.resetLog.map((x) => x.kind)).toEqual(['kernel:bus']);
    expect(r.sim.trace.filter((t) => t.op === 'writeConfigAt')).toEqual([]);
  });

  it('bus refuses when the bridge has functions the step does not cover', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'bus', target: '0000:00:03.0', functions: ['0000:05:00.0'] })]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.error).toMatch(/would also reset 0000:03:00.0/);
  });

  it('a bus fallback of a function step resets its parent bridge when it is alone below it', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeAttribute', name: 'reset', action: { kind: 'error', code: 'ENOTTY' } });
    const res = await r.run([step({ method: 'kernel', target: '0000:02:00.0', fallbacks: ['bus'] })]);
    expect(res.steps[0]).toMatchObject({ status: 'ok', methodUsed: 'bus' });
    expect(r.sim.resetLog.map((x) => x.kind)).toEqual(['bus']);
  });

  it('kernel: writes 1 to reset and checks what the kernel restored', async () => {
    const r = rig(smallTree());
    await resetAndCheck(r, step({ method: 'kernel', target: '0000:01:00.0' }), ['kernel:flr']);
    expect(r.clock.now()).toBe(100);
  });

  it('kernel:<m> selects the method, resets, and puts reset_method back', async () => {
    const r = rig(smallTree());
    await resetAndCheck(r, step({ method: 'kernel:pm', target: '0000:01:00.0' }), ['kernel:pm']);
    const writes = r.sim.trace.filter((t) => t.op === 'writeAttribute').map((t) => [t.name, t.value]);
    expect(writes).toEqual([['reset_method', 'pm'], ['reset', '1'], ['reset_method', 'flr pm bus']]);
    expect(r.sim.readAttribute('0000:01:00.0', 'reset_method')).toBe('flr pm bus\n');
  });

  it('vfio: VFIO_DEVICE_RESET for a function bound to vfio-pci', async () => {
    const r = rig(smallTree((t) => t.add(endpoint('0000:00:1e.0', undefined, { driver: 'vfio-pci' }))));
    await resetAndCheck(r, step({ method: 'vfio', target: '0000:00:1e.0' }), ['kernel:flr']);
  });

  it('vfio: a hot reset when the function has no function reset, only within the step', async () => {
    const tree = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { driver: 'vfio-pci', pcie: { type: 'endpoint', flr: false }, pm: { version: 3, noSoftReset: true }, resetMethod: ['bus'] }));
    const r = rig(tree);
    r.sim.writeAttribute('0000:01:00.0', 'reset_method', '');
    const res = await r.run([step({ method: 'vfio', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.notes.join()).toMatch(/hot reset/);
    expect(r.sim.resetLog.map((x) => x.kind)).toEqual(['kernel:bus']);
  });

  it('vfio is not supported for a function bound to another driver', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'vfio', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.error).toMatch(/not bound to vfio-pci \(driver: ixgbe\)/);
  });

  it('an FLR of a PF saves and restores its VFs too (after VF Enable and its 100 ms)', async () => {
    const tree = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { sriov: { totalVfs: 8, numVfs: 2, vfDevice: 0x10ed, offset: 0x80, stride: 1 } }))
      .add({ bdf: '0000:01:10.0', parent: '0000:00:01.0', physfn: '0000:01:00.0', vendor: 0x8086, device: 0x10ed, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, driver: 'ixgbevf', command: 0x0004 })
      .add({ bdf: '0000:01:10.1', parent: '0000:00:01.0', physfn: '0000:01:00.0', vendor: 0x8086, device: 0x10ed, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, driver: 'ixgbevf', command: 0x0004 });
    const r = rig(tree);
    const s = step({ method: 'flr', target: '0000:01:00.0', functions: ['0000:01:00.0', '0000:01:10.0', '0000:01:10.1'] });
    await resetAndCheck(r, s, ['flr', 'vf-disable', 'vf-enable']);
    expect(r.clock.now()).toBe(200);
  });

  it('a PM reset of a PF as the planner plans it: the step holds its VFs, and they come back with it', async () => {
    // A PF without FLR, with a PM reset, on a kernel without reset_method; nothing bound (the kdump initramfs before udev).
    const vfOf = (bdf: string) => ({ bdf, parent: '0000:00:01.0', physfn: '0000:01:00.0', vendor: 0x8086, device: 0x10ed, classCode: 0x020000, pcie: { type: 'endpoint' as const, flr: true }, msix: true, command: 0x0004 });
    const tree = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { pcie: { type: 'endpoint', flr: false, linkSpeed: 3 }, resetMethod: null, driver: undefined, sriov: { totalVfs: 8, numVfs: 2, vfDevice: 0x10ed, offset: 0x80, stride: 1 } }))
      .add(vfOf('0000:01:10.0'))
      .add(vfOf('0000:01:10.1'))
      .file('proc/vmcore', '');
    const r = rig(tree);
    const plan = buildPlan({ scan: r.scan, iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const fns = ['0000:01:00.0', '0000:01:10.0', '0000:01:10.1'];
    const s = plan.steps.find((x) => x.target === '0000:01:00.0')!;
    expect(s).toMatchObject({ method: 'pm', functions: fns, saveRestore: fns });
    expect(plan.steps.filter((x) => x !== s).flatMap((x) => x.functions)).not.toContain('0000:01:10.0');
    await resetAndCheck(r, s, ['pm', 'vf-disable', 'vf-enable']);
  });

  it('flr on a function whose DevCap says FLR-: only when the plan step says assumeFlr (the table\'s assume=flr)', async () => {
    // An 82599 SFP VF (8086:10ed): the default table says prefer=kernel:device_specific,flr assume=flr.
    // No driver bound (a raw reset would skip a bound driver's reset_prepare/reset_done: the planner avoids it).
    const vf = endpoint('0000:01:00.0', '0000:00:01.0', { vendor: 0x8086, device: 0x10ed, pcie: { type: 'endpoint', flr: false, linkSpeed: 3 }, resetMethod: null, driver: undefined });
    const tree = new MockTree().add(rootPort('0000:00:01.0', 1, 1)).add(vf).file('proc/vmcore', '');
    const r = rig(tree, { behaviour: { '0000:01:00.0': { flrDespiteDevCap: true } } });
    const plan = buildPlan({ scan: r.scan, iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const s = plan.steps.find((x) => x.target === '0000:01:00.0')!;
    expect(s).toMatchObject({ method: 'flr', assumeFlr: true });
    await resetAndCheck(r, s, ['flr']);
    // The same step without the field (and no bus fallback): the executor goes by DevCap and issues no FLR.
    const r2 = rig(tree, { behaviour: { '0000:01:00.0': { flrDespiteDevCap: true } } });
    const { assumeFlr: _dropped, ...without } = s;
    const res = await r2.run([{ ...without, fallbacks: [] }]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.attempts[0]).toMatchObject({ method: 'flr', result: 'not-supported', detail: 'DevCap does not advertise Function Level Reset' });
    expect(r2.sim.resetLog).toEqual([]);
  });
});

describe('raw secondary bus reset guards', () => {
  it('refused on a CXL port (its SBR is masked unless Unmask SBR is set): nothing written, the chain says why', async () => {
    const tree = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1, {}, { cxlPort: { unmaskSbr: false } }))
      .add(endpoint('0000:01:00.0', '0000:00:01.0'))
      .file('proc/vmcore', '');
    const r = rig(tree);
    const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'] })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^no method in the chain applies: bus: refused: 0000:00:01.0 is a CXL port \(CXL Port DVSEC at 0x[0-9a-f]+\).*kernel:cxl_bus/);
    expect(r.sim.trace.filter((t) => t.op === 'writeConfigAt')).toEqual([]);
  });

  it('in real time the reset pulse is set, held 2 ms and cleared in one event-loop turn: nothing else runs in between', async () => {
    const dir = smallTree().write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    const sim = loadSimulator(new Root(dir), { clock });
    const res = await realRun(sim, dir, clock, [step({ id: 1, method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] }), step({ id: 2, method: 'flr', target: '0000:01:00.0' })]);
    expect(res.steps.map((x) => x.status)).toEqual(['ok', 'ok']);
    const i = sim.trace.findIndex((t) => t.op === 'writeConfigAt' && t.offset === 0x3e && (t.value as number) & 0x40);
    const j = sim.trace.findIndex((t, k) => k > i && t.op === 'writeConfigAt' && t.offset === 0x3e && !((t.value as number) & 0x40));
    expect(i).toBeGreaterThanOrEqual(0);
    // Between set and clear only the bridge's own read-back of Bridge Control.
    expect(sim.trace.slice(i + 1, j).map((t) => [t.op, t.bdf, t.offset])).toEqual([['readConfigAt', '0000:00:02.0', 0x3e]]);
    expect(sim.trace[j]!.t - sim.trace[i]!.t).toBeGreaterThanOrEqual(2);
    expect(sim.violations).toEqual([]);
  });

  /** Three root ports, one endpoint each: three bus resets the plan puts in one wave. */
  const threeBuses = (): MockTree => {
    const t = new MockTree();
    for (const n of [1, 2, 3]) t.add(rootPort(`0000:00:0${n}.0`, n, n)).add(endpoint(`0000:0${n}:00.0`, `0000:00:0${n}.0`));
    return t.file('proc/vmcore', '');
  };
  const busSteps = (): PlanStep[] => [1, 2, 3].map((n) => step({ id: n, wave: 0, method: 'bus', target: `0000:00:0${n}.0`, functions: [`0000:0${n}:00.0`] }));
  const sbrWrites = (sim: PciSimulator) => sim.trace.flatMap((t, k) => (t.op === 'writeConfigAt' && t.offset === 0x3e ? [{ k, bdf: t.bdf!, set: Boolean((t.value as number) & 0x40), t: t.t }] : []));

  it('the bus resets of one wave share one hold: every bridge set, held 2 ms once, every bridge cleared, in one turn', async () => {
    const dir = threeBuses().write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    const sim = loadSimulator(new Root(dir), { clock });
    const res = await realRun(sim, dir, clock, busSteps());
    expect(res.steps.map((x) => x.status)).toEqual(['ok', 'ok', 'ok']);
    const w = sbrWrites(sim);
    expect(w.map((x) => [x.bdf, x.set])).toEqual([
      ['0000:00:01.0', true], ['0000:00:02.0', true], ['0000:00:03.0', true],
      ['0000:00:01.0', false], ['0000:00:02.0', false], ['0000:00:03.0', false],
    ]);
    // Between the first set and the last clear: only the bridges' own read-backs of Bridge Control.
    const between = sim.trace.slice(w[0]!.k + 1, w[5]!.k).filter((t) => !(t.op === 'writeConfigAt' && t.offset === 0x3e));
    // (the third bridge's clear is read back after the last clear).
    expect(between.map((t) => [t.op, t.offset])).toEqual(Array.from({ length: 5 }, () => ['readConfigAt', 0x3e]));
    for (const b of ['0000:00:01.0', '0000:00:02.0', '0000:00:03.0']) {
      const on = w.find((x) => x.bdf === b && x.set)!;
      const off = w.find((x) => x.bdf === b && !x.set)!;
      expect(off.t - on.t).toBeGreaterThanOrEqual(2);
    }
    for (const s of res.steps) expect(s.waits.find((x) => x.what === 'sbr-hold')!.ms).toBeGreaterThanOrEqual(2);
    expect(sim.violations).toEqual([]);
  });

  it('one bridge of a shared hold failing fails its own step only, and every bridge is cleared', async () => {
    const dir = threeBuses().write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    // 00:01.0 ignores the write that asserts the reset; 00:02.0's assert fails outright.
    const sim = loadSimulator(new Root(dir), { clock });
    sim.faults.add({ op: 'writeConfigAt', bdf: '0000:00:01.0', offset: 0x3e, times: 1, action: { kind: 'drop' } });
    sim.faults.add({ op: 'writeConfigAt', bdf: '0000:00:02.0', offset: 0x3e, times: 1, action: { kind: 'error', code: 'EIO' } });
    const res = await realRun(sim, dir, clock, busSteps());
    expect(res.steps.map((x) => x.status)).toEqual(['failed', 'failed', 'ok']);
    expect(res.steps[0]!.error).toMatch(/^EIO in reset 0000:00:01.0: Secondary Bus Reset does not read back set/);
    expect(res.steps[1]!.error).toMatch(/^EIO in reset 0000:00:02.0/);
    for (const b of ['0000:00:01.0', '0000:00:02.0', '0000:00:03.0']) expect(sim.readConfigAt(b, 0x3e, 2) & 0x40).toBe(0);
    expect(sim.resetLog.map((x) => x.bdf)).toEqual(['0000:03:00.0']);
  });

  it('a bridge whose reset bit will not clear is reported, and the other bridges of the hold are still cleared', async () => {
    const dir = threeBuses().write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    const sim = loadSimulator(new Root(dir), { clock });
    // Every write to 00:01.0's Bridge Control after the one that sets it is dropped.
    sim.faults.add({ op: 'writeConfigAt', bdf: '0000:00:01.0', offset: 0x3e, after: 1, action: { kind: 'drop' } });
    const res = await realRun(sim, dir, clock, busSteps(), 3000, 300);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.error).toMatch(/Secondary Bus Reset stays set in Bridge Control after 3 writes to clear it/);
    // The hold happened: it is on the record of the failed step too.
    expect(res.steps[0]!.waits.find((x) => x.what === 'sbr-hold')!.ms).toBeGreaterThanOrEqual(2);
    expect(res.steps.slice(1).map((x) => x.status)).toEqual(['ok', 'ok']);
    for (const b of ['0000:00:02.0', '0000:00:03.0']) expect(sim.readConfigAt(b, 0x3e, 2) & 0x40).toBe(0);
  });

  it('no bus reset of a shared hold starts after the deadline, though it was asked for before it', async () => {
    const dir = threeBuses().write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    const sim = loadSimulator(new Root(dir), { clock });
    // Step 2's save blocks 300 ms (a config read in completion timeouts) after step 1 asked for its pulse
    // (the first read of that config is the scan's).
    sim.faults.add({ op: 'readConfig', bdf: '0000:02:00.0', after: 1, times: 1, action: { kind: 'slow', ms: 300 } });
    const t0 = clock.now();
    const res = await realRun(sim, dir, clock, busSteps(), 200);
    const late = sbrWrites(sim).filter((w) => w.set && w.t > t0 + 200);
    expect(late).toEqual([]);
    expect(sim.resetLog).toEqual([]);
    for (const s of res.steps) expect(s.status).not.toBe('ok');
    expect(res.steps[0]!.error).toMatch(/deadline/);
    for (const b of ['0000:00:01.0', '0000:00:02.0', '0000:00:03.0']) expect(sim.readConfigAt(b, 0x3e, 2) & 0x40).toBe(0);
  });

  it('a wave mixing bus resets and FLRs: between the first bridge set and the last clear only the read-backs', async () => {
    const dir = threeBuses()
      .add(endpoint('0000:00:1f.0', undefined))
      .write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    const sim = loadSimulator(new Root(dir), { clock });
    const res = await realRun(sim, dir, clock, [...busSteps(), step({ id: 4, wave: 0, method: 'flr', target: '0000:00:1f.0' })]);
    expect(res.steps.map((x) => x.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const w = sbrWrites(sim);
    const between = sim.trace.slice(w[0]!.k + 1, w[w.length - 1]!.k).filter((t) => !(t.op === 'writeConfigAt' && t.offset === 0x3e));
    expect(between.every((t) => t.op === 'readConfigAt' && t.offset === 0x3e)).toBe(true);
    expect(sim.violations).toEqual([]);
  });

  it('an assert that fails and whose clear fails too reports the clear: a bus may be held in reset', async () => {
    const dir = threeBuses().write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    const sim = loadSimulator(new Root(dir), { clock });
    // The assert fails with EIO, every write after it (the clears) with ENXIO: the report must name the latter.
    sim.faults.add({ op: 'writeConfigAt', bdf: '0000:00:02.0', offset: 0x3e, times: 1, action: { kind: 'error', code: 'EIO' } });
    sim.faults.add({ op: 'writeConfigAt', bdf: '0000:00:02.0', offset: 0x3e, after: 1, action: { kind: 'error', code: 'ENXIO' } });
    const res = await realRun(sim, dir, clock, busSteps(), 3000, 300);
    expect(res.steps[1]!.status).toBe('failed');
    expect(res.steps[1]!.error).toMatch(/ENXIO/);
    expect(res.steps[1]!.error).not.toMatch(/EIO/);
    expect([res.steps[0]!.status, res.steps[2]!.status]).toEqual(['ok', 'ok']);
  });
});

describe('bus resets on nested bridges', () => {
  it('a plan that puts a root port and a downstream port below it in one wave still gets two holds, one after the other', async () => {
    const dir = smallTree().write(tmpDir('pra-sbr-'));
    const clock = new RealClock();
    const sim = loadSimulator(new Root(dir), { clock });
    const below = ['0000:03:00.0', '0000:04:08.0', '0000:04:09.0', '0000:05:00.0', '0000:06:00.0'];
    const res = await realRun(sim, dir, clock, [step({ id: 1, wave: 0, method: 'bus', target: '0000:00:03.0', functions: below }), step({ id: 2, wave: 0, method: 'bus', target: '0000:04:08.0', functions: ['0000:05:00.0'] })]);
    expect(res.steps.map((x) => x.status)).toEqual(['ok', 'ok']);
    const w = sim.trace.filter((t) => t.op === 'writeConfigAt' && t.offset === 0x3e).map((t) => [t.bdf, Boolean((t.value as number) & 0x40)]);
    const sets = w.filter(([, on]) => on).map(([b]) => b);
    expect(sets).toEqual(['0000:00:03.0', '0000:04:08.0']);
    // 00:03.0 is set and cleared before 04:08.0 is set (the restore of 04:08.0 writes its Bridge Control back in between).
    const upClear = w.findIndex(([b, on]) => b === '0000:00:03.0' && !on);
    const downSet = w.findIndex(([b, on]) => b === '0000:04:08.0' && on);
    expect(upClear).toBeGreaterThanOrEqual(0);
    expect(upClear).toBeLessThan(downSet);
    expect(sim.violations).toEqual([]);
  });
});

describe('pulseTogether', () => {
  it('a hold that cannot be timed fails every pulse of it, and every bridge is still cleared', async () => {
    let calls = 0;
    // A clock that fails on its third reading: the one inside the hold.
    const clock = { virtual: false, now: () => (++calls === 3 ? (() => { throw new Error('clock gone'); })() : calls), sleep: async () => {} };
    const log: string[] = [];
    const pulse = (n: string) => ({ assert: () => log.push(`set ${n}`), check: () => log.push(`check ${n}`), deassert: () => log.push(`clear ${n}`) });
    const results = await Promise.all([pulseTogether(clock, pulse('a')), pulseTogether(clock, pulse('b'))]);
    expect(log).toEqual(['set a', 'set b', 'check a', 'clear a', 'check b', 'clear b']);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(!r.ok && String(r.failure)).toMatch(/hold could not be timed: clock gone/);
    }
  });

  it('pulses asked for in separate turns are separate holds', async () => {
    const log: string[] = [];
    const clock = new RealClock();
    const pulse = (n: string) => ({ assert: () => log.push(`set ${n}`), check: () => {}, deassert: () => log.push(`clear ${n}`) });
    const a = await pulseTogether(clock, pulse('a'));
    const b = await pulseTogether(clock, pulse('b'));
    expect(log).toEqual(['set a', 'clear a', 'set b', 'clear b']);
    expect(a.ok && b.ok && a.heldMs >= 2 && b.heldMs >= 2).toBe(true);
  });
});
