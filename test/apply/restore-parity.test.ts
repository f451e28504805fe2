import { describe, expect, it } from 'vitest';
import { LAYOUT } from '../../src/mock/config-builder.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import { ALL_EXT, DPC, VF_REBAR, appendCap, appendExtCaps, set } from '../helpers/ext-caps.js';
import { rig, step } from './fixture.js';
import { endpoint, programme, rootPort, smallTree } from './trees.js';

/**
 * Issue 12 item 3: what pci_restore_state() (drivers/pci/pci.c:1859) puts back, the raw methods put back
 * too, in its order. The simulator clears every one of these registers on reset.
 */
const EP = '0000:01:00.0';
const withExt = (b: Uint8Array): void => {
  programme(b);
  appendExtCaps(b, ALL_EXT);
};

function treeWithExt(): MockTree {
  return new MockTree().add(rootPort('0000:00:01.0', 1, 1, {}, { patchConfig: programme })).add(endpoint(EP, '0000:00:01.0', { patchConfig: withExt })).file('proc/vmcore', '');
}

describe('restore parity with pci_restore_state() (issue 12 item 3)', () => {
  it('an FLR clears ReBAR, ATS, PASID, PRI, L1SS, PTM, TPH and VC; the agent puts every one back', async () => {
    const r = rig(treeWithExt());
    const before = r.sim.snapshot();
    const res = await r.run([step({ method: 'flr', target: EP })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(res.steps[0]!.restoreMismatches).toEqual([]);
    expect(r.sim.diff(before)).toEqual([]);
  });

  it("in the kernel's order: L1SS before the PCIe words; PASID, PRI (allocation before enable), ATS, VC, ReBAR before the BARs; PTM, TPH before AER", async () => {
    const r = rig(treeWithExt());
    await r.run([step({ method: 'flr', target: EP })]);
    const writes = r.sim.trace.filter((t) => t.op === 'writeConfigAt' && t.bdf === EP).slice(2).map((t) => t.offset!);
    const at = (o: number): number => {
      const i = writes.indexOf(o);
      expect(i, `a write at 0x${o.toString(16)}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    // ALL_EXT is laid out from 0x300: ReBAR 0x300, ATS 0x310, PASID 0x318, PRI 0x320, L1SS 0x330, PTM 0x340, TPH 0x350, VC 0x360.
    expect(at(0x330 + 0x0c)).toBeLessThan(at(0x330 + 8));
    expect(at(0x330 + 8)).toBeLessThan(at(LAYOUT.pcie + 8));
    expect(at(LAYOUT.pcie + 8)).toBeLessThan(at(0x318 + 6));
    expect(at(0x318 + 6)).toBeLessThan(at(0x320 + 0x0c));
    expect(at(0x320 + 0x0c)).toBeLessThan(at(0x320 + 4));
    expect(at(0x320 + 4)).toBeLessThan(at(0x310 + 6));
    expect(at(0x310 + 6)).toBeLessThan(at(0x360 + 0x0c));
    expect(at(0x360 + 0x0c)).toBeLessThan(at(0x300 + 8));
    expect(at(0x300 + 8)).toBeLessThan(at(0x10));
    expect(at(0x340 + 8)).toBeLessThan(at(0x108));
    expect(at(0x350 + 8)).toBeLessThan(at(0x108));
    expect(at(0x10)).toBeLessThan(at(0x04));
  });

  for (const [name, offset] of [
    ['ReBARCtl0@0x308', 0x308],
    ['ATSCtl@0x316', 0x316],
    ['PASIDCtl@0x31e', 0x31e],
    ['PRICtl@0x324', 0x324],
    ['L1SSCtl1@0x338', 0x338],
    ['PTMCtl@0x348', 0x348],
    ['TPHCtl@0x358', 0x358],
    ['VC1ResCtl@0x380', 0x380],
  ] as const) {
    it(`a restore of ${name} that does not stick fails the step, naming it`, async () => {
      const r = rig(treeWithExt());
      r.sim.faults.add({ op: 'writeConfigAt', bdf: EP, offset, action: { kind: 'drop' } });
      const res = await r.run([step({ method: 'flr', target: EP })]);
      expect(res.steps[0]!.status).toBe('failed');
      expect(res.steps[0]!.error).toContain(`${EP} ${name} reads`);
    });
  }

  it('LTR Mechanism Enable on the bridge whose link went down is set again (pci_bridge_reconfigure_ltr)', async () => {
    const r = rig(treeWithExt());
    const devctl2 = LAYOUT.pcie + 0x28;
    expect(r.sim.readConfigAt('0000:00:01.0', devctl2, 2) & 0x0400).toBe(0x0400);
    const before = r.sim.snapshot();
    const res = await r.run([step({ method: 'bus', target: '0000:00:01.0', functions: [EP], saveRestore: [EP] })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.readConfigAt('0000:00:01.0', devctl2, 2) & 0x0400).toBe(0x0400);
    expect(r.sim.diff(before)).toEqual([]);
  });

  it('DPC control of a switch downstream port inside a bus reset is put back', async () => {
    const r = rig(
      smallTree((t) => {
        const f = t.functions.find((x) => x.bdf === '0000:04:09.0')!;
        f.patchConfig = (b) => appendExtCaps(b, [DPC]);
      }),
    );
    expect(r.sim.readConfigAt('0000:04:09.0', 0x300 + 6, 2)).toBe(0x0081);
    const fns = ['0000:03:00.0', '0000:04:08.0', '0000:04:09.0', '0000:05:00.0', '0000:06:00.0'];
    const res = await r.run([step({ method: 'bus', target: '0000:00:03.0', functions: fns, saveRestore: fns })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.readConfigAt('0000:04:09.0', 0x300 + 6, 2)).toBe(0x0081);
  });

  it('PCI-X Command of a conventional function is put back after the header', async () => {
    const pcix = (b: Uint8Array): void => appendCap(b, 0x07, 0xd0, (bb, o) => set(bb, o + 2, 2, 0x003e));
    const t = new MockTree()
      .add(rootPort('0000:00:1c.0', 1, 2))
      .add({ bdf: '0000:01:00.0', parent: '0000:00:1c.0', vendor: 0x1b21, device: 0x1080, classCode: 0x060401, bridge: { secondaryBus: 2, subordinateBus: 2 }, pcie: { type: 'pcie_to_pci_bridge', linkSpeed: 1 }, pm: {} })
      .add({ bdf: '0000:02:00.0', parent: '0000:01:00.0', vendor: 0x1077, device: 0x2312, classCode: 0x0c0400, pm: { version: 2 }, af: { tp: true, flr: true }, patchConfig: pcix });
    const r = rig(t);
    const before = r.sim.snapshot();
    const res = await r.run([step({ method: 'af_flr', target: '0000:02:00.0' })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.diff(before)).toEqual([]);
    const writes = r.sim.trace.filter((x) => x.op === 'writeConfigAt' && x.bdf === '0000:02:00.0').map((x) => x.offset!);
    expect(writes.lastIndexOf(0xd2)).toBeGreaterThan(writes.lastIndexOf(0x04));
  });

  it('VF Resizable BAR of an SR-IOV PF is put back before the VF BARs', async () => {
    const t = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint(EP, '0000:00:01.0', { sriov: { totalVfs: 8, numVfs: 0, vfDevice: 0x10ed, offset: 0x80, stride: 1 }, patchConfig: (b) => (programme(b), appendExtCaps(b, [VF_REBAR])) }));
    const r = rig(t);
    const before = r.sim.snapshot();
    const res = await r.run([step({ method: 'flr', target: EP })]);
    expect(res.steps[0]!.status).toBe('ok');
    expect(r.sim.diff(before)).toEqual([]);
  });
});
