import { afterAll, describe, expect, it } from 'vitest';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { buildContext } from '../../src/plan/context.js';
import { secondaryBusWait, stepTiming } from '../../src/plan/waits.js';
import { defaultTable } from '../../src/quirks/load.js';
import { cleanup, iommu, scanTree } from '../plan/helpers.js';
import { planOf, rig, step } from './fixture.js';
import { programme, rootPort } from './trees.js';

/**
 * Issue 12 item 1: below a PCIe-to-PCI bridge the 6.18 kernel restores config ~2 ms after a bus reset
 * (pci_bridge_wait_for_secondary_bus() returns 0 for a bridge that is not a downstream port), while the
 * conventional devices there are still in Trhfa and drop the writes. The simulator drops them too.
 */
const RP = '0000:00:1c.0';
const P2P = '0000:01:00.0';
const CONV = '0000:02:00.0';

function tree(extra: Partial<MockFunction> = {}): MockTree {
  return new MockTree()
    .add(rootPort(RP, 1, 2))
    .add({ bdf: P2P, parent: RP, vendor: 0x1b21, device: 0x1080, classCode: 0x060401, bridge: { secondaryBus: 2, subordinateBus: 2 }, pcie: { type: 'pcie_to_pci_bridge', linkSpeed: 1 }, pm: {} })
    // A conventional NIC with no function-level reset: only a bus reset resets it.
    .add({ bdf: CONV, parent: P2P, vendor: 0x102b, device: 0x0522, classCode: 0x020000, pm: { version: 3, noSoftReset: true }, msi: true, command: 0x0006, patchConfig: programme, ...extra })
    .file('proc/vmcore', '');
}

afterAll(cleanup);

describe('conventional bus below a PCIe-to-PCI bridge (issue 12 item 1)', () => {
  it("the simulator loses the kernel's reset_subordinate restore: the write came inside Trhfa", async () => {
    const r = rig(tree(), { resetSubordinate: true });
    const bar = r.sim.readConfigAt(CONV, 0x10, 4);
    expect(bar).not.toBe(0);
    await r.sim.writeAttributeAsync(P2P, 'reset_subordinate', '1');
    expect(r.sim.resetLog.map((x) => `${x.bdf} ${x.kind}`)).toContain(`${CONV} restore-lost`);
    // Still inside Trhfa when the kernel returns: all-ones; after it, power-on values (BAR 0).
    r.clock.advance(1000);
    expect(r.sim.readConfigAt(CONV, 0x10, 4)).toBe(0);
  });

  it('the plan resets it raw on the bridge (never the kernel bus, never reset_subordinate) and budgets 1000 + 100 ms', () => {
    const s = scanTree(tree());
    expect(s.devices.find((d) => d.bdf === CONV)!.resetMethods).toEqual(['bus']);
    const plan = buildPlan({ scan: s, iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    expect(plan.steps.map((x) => `${x.method}@${x.target}`)).toEqual([`bus@${P2P}`]);
    const st = plan.steps[0]!;
    expect(st.waits).toContainEqual({ what: 'secondary-bus', ms: 1100 });
    expect(st.reasons.join('\n')).toMatch(/raw Bridge Control reset, never 0000:01:00.0's reset_subordinate: .*Trhfa/);
  });

  it('apply holds 1000 + 100 ms, restores itself, and the BARs read back (reset_subordinate present but not used)', async () => {
    const r = rig(tree(), { resetSubordinate: true });
    const before = r.sim.snapshot();
    const res = await r.run([step({ method: 'bus', target: P2P, functions: [CONV], saveRestore: [CONV], waits: [{ what: 'bus-reset', ms: 2 }, { what: 'secondary-bus', ms: 1100 }] })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('ok');
    expect(s.restoreMismatches).toEqual([]);
    expect(r.sim.trace.some((t) => t.name === 'reset_subordinate')).toBe(false);
    expect(r.sim.violations).toEqual([]);
    expect(r.sim.diff(before)).toEqual([]);
  });

  it("a kernel restore that does not read back fails the step, naming the register (a hand-made kernel:bus plan)", async () => {
    const r = rig(tree());
    const res = await r.run([step({ method: 'kernel:bus', target: CONV })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    // Still inside Trhfa when the kernel returned: it reads all-ones, and power-on values after.
    expect(s.error).toMatch(/^EIO in verify 0000:02:00.0: the kernel's restore did not stick: 0000:02:00.0 /);
    expect(s.restoreMismatches.some((m) => m.register === 'BAR0@0x10')).toBe(true);
  });
});

describe('nested bridges and link speed (issue 12 item 6)', () => {
  it('after restoring a switch downstream port inside a bus reset, its own secondary-bus wait comes before its children are touched', async () => {
    const { smallTree } = await import('./trees.js');
    const r = rig(smallTree());
    const fns = ['0000:03:00.0', '0000:04:08.0', '0000:04:09.0', '0000:05:00.0', '0000:06:00.0'];
    const res = await r.run([step({ method: 'bus', target: '0000:00:03.0', functions: fns, saveRestore: fns })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.violations).toEqual([]);
    expect(res.steps[0]!.waits.some((w) => w.what === 'nested-secondary-bus')).toBe(true);
  });

  it('the planner budgets the nested ports, and nothing for the kernel wait of an upstream port', () => {
    const fns: MockFunction[] = [
      rootPort('0000:00:03.0', 3, 6),
      { bdf: '0000:03:00.0', parent: '0000:00:03.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 4, subordinateBus: 6 }, pcie: { type: 'upstream_port', linkSpeed: 3 }, pm: {} },
      { bdf: '0000:04:08.0', parent: '0000:03:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 5, subordinateBus: 5 }, pcie: { type: 'downstream_port', linkSpeed: 3, dllla: true }, pm: {} },
      { bdf: '0000:05:00.0', parent: '0000:04:08.0', vendor: 0x1234, device: 1, classCode: 0x020000, pcie: { type: 'endpoint', flr: false }, pm: { noSoftReset: true } },
      { bdf: '0000:05:00.1', parent: '0000:04:08.0', vendor: 0x1234, device: 1, classCode: 0x020000, pcie: { type: 'endpoint', flr: false }, pm: { noSoftReset: true } },
    ];
    const plan = buildPlan({ scan: scanTree(new MockTree().addAll(fns)), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const st = plan.steps.find((x) => x.method === 'bus')!;
    // The two functions share bus 5: the bus reset is on the downstream port 04:08.0, nothing nested.
    expect(st.target).toBe('0000:04:08.0');
    expect(st.waits).toEqual([{ what: 'bus-reset', ms: 2 }, { what: 'secondary-bus', ms: 120 }]);
    // Reset at the root port: 20 + 100 ms for its link, then (nested) nothing for the upstream port, 20 + 100 for the downstream port.
    const ctx = buildContext({ scan: scanTree(new MockTree().addAll(fns)), iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    const below = ['0000:03:00.0', '0000:04:08.0', '0000:05:00.0', '0000:05:00.1'];
    const atRoot = stepTiming(ctx, 'bus', ctx.byBdf.get('0000:00:03.0')!, below);
    expect(atRoot.waits).toEqual([{ what: 'bus-reset', ms: 2 }, { what: 'secondary-bus', ms: 120 }, { what: 'nested-secondary-bus', ms: 120 }]);
    // Reset at the upstream port (a raw reset): delay, 100 ms, not 1000 + 100; the kernel's own wait is 0.
    const atUp = stepTiming(ctx, 'bus', ctx.byBdf.get('0000:03:00.0')!, below.slice(1));
    expect(atUp.waits.slice(0, 2)).toEqual([{ what: 'bus-reset', ms: 2 }, { what: 'secondary-bus', ms: 100 }]);
    expect(secondaryBusWait(ctx, ctx.byBdf.get('0000:03:00.0')!, false).ms).toBe(0);
  });

  it('LnkCap2 is masked by LnkCap Max Link Speed (pcie_get_supported_speeds): a 5 GT/s port claiming 8 GT/s in LnkCap2 waits 100 ms, no link poll', async () => {
    // LnkCap says 5 GT/s, LnkCap2's vector claims 2.5, 5 and 8 GT/s.
    const patch = (b: Uint8Array): void => {
      b[0x70 + 0x2c] = 0x0e;
    };
    const t = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1, { linkSpeed: 2, dllla: true }, { patchConfig: patch }))
      .add({ bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x1234, device: 1, classCode: 0x020000, pcie: { type: 'endpoint', flr: false }, pm: { noSoftReset: true }, patchConfig: programme });
    const s = scanTree(t);
    expect(s.devices.find((d) => d.bdf === '0000:00:01.0')!.pcie!.supportedLinkSpeed).toBe(2);
    const plan = buildPlan({ scan: s, iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    expect(plan.steps[0]!.waits).toContainEqual({ what: 'secondary-bus', ms: 100 });
    const r = rig(t);
    const res = await r.run(planOf([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'], saveRestore: ['0000:01:00.0'] })]));
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.waits.map((w) => w.what)).not.toContain('link-detect');
  });

  it('an unknown speed (LnkCap Max Link Speed 0, no LnkCap2) takes the kernel\'s faster-than-5 GT/s path', () => {
    const patch = (b: Uint8Array): void => {
      b[0x70 + 0x0c] = b[0x70 + 0x0c]! & 0xf0;
      b[0x70 + 0x2c] = 0;
    };
    const t = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1, { linkSpeed: 1, dllla: true }, { patchConfig: patch }))
      .add({ bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x1234, device: 1, classCode: 0x020000, pcie: { type: 'endpoint', flr: false }, pm: { noSoftReset: true } });
    const s = scanTree(t);
    expect(s.devices.find((d) => d.bdf === '0000:00:01.0')!.pcie!.supportedLinkSpeed).toBe(null);
    const plan = buildPlan({ scan: s, iommu: iommu('4'), quirks: defaultTable(), policy: {} });
    expect(plan.steps[0]!.waits).toContainEqual({ what: 'secondary-bus', ms: 120 });
    expect(plan.steps[0]!.reasons.join('\n')).toMatch(/of unknown speed \(treated as faster than 5 GT\/s/);
  });
});

describe('the bus method checks hot-plug itself (issue 12 item 7)', () => {
  it('a hand-made raw bus step on a hot-plug port is refused by the executor, read now (Bridge Control and reset_subordinate alike)', async () => {
    const t = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1, { hotPlug: true, slot: true }))
      .add({ bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x1234, device: 1, classCode: 0x020000, pcie: { type: 'endpoint', flr: false }, pm: { noSoftReset: true } })
      .file('proc/vmcore', '');
    for (const resetSubordinate of [false, true]) {
      const r = rig(t, { resetSubordinate });
      const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: ['0000:01:00.0'], saveRestore: ['0000:01:00.0'] })]);
      expect(res.steps[0]!.status).not.toBe('ok');
      expect(res.steps[0]!.attempts[0]!.detail).toMatch(/0000:00:01.0 is a hot-plug port \(SltCap Hot-Plug Capable\).*only pciehp_reset_slot\(\)/);
      expect(r.sim.resetLog).toEqual([]);
    }
  });
});

describe("what the kernel's own restore must bring back (issue 12 item 1)", () => {
  const t = (): MockTree => new MockTree().add(rootPort('0000:00:01.0', 1, 1)).add({ bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x1234, device: 1, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, pm: {}, msi: true, command: 0x0006, patchConfig: programme });

  it('a header register that reads back different after `kernel` fails the step', async () => {
    const r = rig(t());
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:01:00.0', offset: 0x10, after: 1, times: 1, action: { kind: 'value', value: 0 } });
    const res = await r.run([step({ method: 'kernel', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.status).toBe('failed');
    expect(res.steps[0]!.error).toMatch(/the kernel's restore did not stick: 0000:01:00.0 BAR0@0x10 reads 0x0/);
  });

  it('MSI control restored from the capture kernel\'s own state (no driver: MSI off) is only a note', async () => {
    const r = rig(t());
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:01:00.0', offset: 0x52, after: 1, times: 1, action: { kind: 'value', value: 0x0180 } });
    const res = await r.run([step({ method: 'kernel', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.notes.join('\n')).toMatch(/MSICtl@0x52 reads 0x180 .*the kernel restores it from its own state/);
  });
});
