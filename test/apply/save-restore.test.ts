import { describe, expect, it } from 'vitest';
import { registerLayout } from '../../src/config/register-layout.js';
import { savedSlots } from '../../src/apply/save-restore/save.js';
import { LAYOUT } from '../../src/mock/config-builder.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import { rig, step } from './fixture.js';
import { endpoint, rootPort, smallTree } from './trees.js';

describe('what is saved', () => {
  it('the 64-byte header, PCIe control words, MSI/MSI-X control, AER, ACS, LTR, in the kernel restore order', () => {
    const r = rig(smallTree());
    const layout = registerLayout(r.sim.readConfig('0000:01:00.0')!)!;
    const names = savedSlots(layout).map((s) => s.name.split('@')[0]);
    expect(names).toEqual([
      'LTR',
      'DevCtl', 'LnkCtl', 'DevCtl2', 'LnkCtl2',
      'AERUncorMask', 'AERUncorSever', 'AERCorMask', 'AERCap',
      'InterruptLine', 'Reserved', 'CapPtr', 'ROM', 'Subsystem', 'CardbusCIS',
      'BAR5', 'BAR4', 'BAR3', 'BAR2', 'BAR1', 'BAR0',
      'CacheLine/Latency', 'Class', 'Command', 'ID',
      'MSIAddrLo', 'MSIAddrHi', 'MSIData', 'MSIMask', 'MSICtl',
      'MSIXCtl',
      'ACSCtl',
    ]);
  });

  it('a root port adds SltCtl, RtCtl, SltCtl2 and the AER root command; a bridge header restores the windows forced', () => {
    const r = rig(smallTree());
    const slots = savedSlots(registerLayout(r.sim.readConfig('0000:00:01.0')!)!);
    const names = slots.map((s) => s.name.split('@')[0]);
    expect(names).toEqual(expect.arrayContaining(['SltCtl', 'RtCtl', 'SltCtl2', 'AERRootCmd', 'BusNumbers', 'InterruptLine/BridgeControl']));
    expect(slots.filter((s) => s.force).map((s) => s.offset)).toEqual([0x2c, 0x28, 0x24]);
  });
});

describe('how it is restored', () => {
  it('BARs before Command, MSI address and data before its enable, only registers that changed', async () => {
    const r = rig(smallTree());
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    expect(res.steps[0]!.status).toBe('ok');
    const writes = r.sim.trace.filter((t) => t.op === 'writeConfigAt').slice(2).map((t) => t.offset);
    // After the FLR: LTR, DevCtl, LnkCtl, DevCtl2, AER, cache line... BAR0, Command, MSI, MSI-X, ACS.
    expect(writes.indexOf(0x10)).toBeLessThan(writes.indexOf(0x04));
    expect(writes.indexOf(0x54)).toBeLessThan(writes.indexOf(0x52));
    expect(writes.indexOf(0x5c)).toBeLessThan(writes.indexOf(0x52));
    expect(writes.indexOf(0x15c)).toBe(0);
    expect(writes).not.toContain(0x00);
    expect(writes).not.toContain(0x14);
  });

  it('a register that does not stick fails the step, named with what was expected and what reads back (issue 12 item 1)', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'writeConfigAt', bdf: '0000:01:00.0', offset: 0x10, action: { kind: 'drop' } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^EIO in verify 0000:01:00.0: the restore did not stick: 0000:01:00.0 BAR0@0x10 reads 0x0, expected 0xe0100000/);
    expect(s.restoreMismatches).toEqual([{ bdf: '0000:01:00.0', register: 'BAR0@0x10', expected: 0xe0100000, actual: 0, mask: 0xffffffff }]);
  });

  it('after a failed reset Bus Master is left off, and that is not a mismatch', async () => {
    const r = rig(smallTree());
    r.sim.faults.add({ op: 'readConfigAt', bdf: '0000:01:00.0', offset: 0x78, after: 1, times: 1, action: { kind: 'error', code: 'EIO' } });
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0' })]);
    const s = res.steps[0]!;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/^EIO in reset 0000:01:00.0: config read of DevCtl/);
    expect(s.restoreMismatches).toEqual([]);
    expect(s.notes.join()).toMatch(/Bus Master left off/);
    expect(r.sim.readConfigAt('0000:01:00.0', 4, 2)).toBe(0x0402);
    expect(r.sim.resetLog).toEqual([]);
  });
});

describe('SR-IOV is restored in sriov_restore_state() order', () => {
  it('SR-IOV Control with only the ARI Capable Hierarchy bit first, then VF BARs, page size, NumVFs, then VF Enable', async () => {
    const tree = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { sriov: { totalVfs: 8, numVfs: 2, vfDevice: 0x10ed, offset: 0x80, stride: 1 } }))
      .add({ bdf: '0000:01:10.0', parent: '0000:00:01.0', physfn: '0000:01:00.0', vendor: 0x8086, device: 0x10ed, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, command: 0x0004 })
      .add({ bdf: '0000:01:10.1', parent: '0000:00:01.0', physfn: '0000:01:00.0', vendor: 0x8086, device: 0x10ed, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, command: 0x0004 });
    const r = rig(tree);
    const ctl = r.sim.readConfigAt('0000:01:00.0', LAYOUT.sriov + 8, 2);
    expect(ctl & 0x10).toBe(0x10);
    const res = await r.run([step({ method: 'flr', target: '0000:01:00.0', functions: ['0000:01:00.0', '0000:01:10.0', '0000:01:10.1'] })]);
    expect(res.steps[0]!.status).toBe('ok');
    const sriov = r.sim.trace
      .filter((t) => t.op === 'writeConfigAt' && t.bdf === '0000:01:00.0' && t.offset! >= LAYOUT.sriov && t.offset! < LAYOUT.sriov + 0x40)
      .map((t) => [t.offset! - LAYOUT.sriov, t.value]);
    // Control (ARI alone), page size (the VF BARs are 0 in this mock, as after the FLR: not written), NumVFs, Control.
    expect(sriov).toEqual([
      [0x08, 0x0010],
      [0x20, expect.any(Number)],
      [0x10, 2],
      [0x08, ctl],
    ]);
  });
});
