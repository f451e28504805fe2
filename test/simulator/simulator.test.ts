import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessError } from '../../src/access/access-error.js';
import { Root } from '../../src/access/root.js';
import { LAYOUT } from '../../src/mock/config-builder.js';
import { loadSimulator, type SimulatorOptions } from '../../src/simulator/load.js';
import { VirtualClock } from '../../src/time/clock.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { endpoint, rootPort, smallTree } from '../apply/trees.js';
import { MockTree } from '../../src/mock/tree-builder.js';

const DEVCTL = LAYOUT.pcie + 8;
const DEVSTA = LAYOUT.pcie + 0x0a;

function load(tree = smallTree(), options: Partial<SimulatorOptions> = {}) {
  const dir = tree.write(tmpDir('pra-sim-'));
  const clock = new VirtualClock();
  const sim = loadSimulator(new Root(dir), { clock, ...options });
  return { dir, clock, sim };
}

const configFile = (dir: string, bdf: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, 'sys/bus/pci/devices', bdf, 'config')));

describe('loading', () => {
  it('reads every function of the tree, config as the file holds it, attributes and links', () => {
    const { dir, sim } = load();
    expect(sim.listFunctions().map((f) => f.bdf).sort()).toEqual(fs.readdirSync(path.join(dir, 'sys/bus/pci/devices')).sort());
    expect(sim.readConfig('0000:01:00.0')).toEqual(configFile(dir, '0000:01:00.0'));
    expect(sim.readAttribute('0000:01:00.0', 'vendor')).toBe('0x8086\n');
    expect(sim.readAttribute('0000:01:00.0', 'reset_method')).toBe('flr pm bus\n');
    expect(sim.readLink('0000:01:00.0', 'driver')).toMatch(/drivers\/ixgbe$/);
    expect(sim.listAttributes('0000:01:00.0')).toContain('reset');
    expect(sim.readAttribute('0000:01:00.0', 'nonexistent')).toBeNull();
  });

  it('never writes to the tree it was loaded from', async () => {
    const { dir, sim, clock } = load();
    const before = configFile(dir, '0000:01:00.0');
    sim.writeConfigAt('0000:01:00.0', DEVCTL, 2, 0x8000);
    await clock.sleep(200);
    await sim.writeAttributeAsync('0000:02:00.0', 'reset', '1');
    expect(configFile(dir, '0000:01:00.0')).toEqual(before);
  });

  it('rejects unknown functions and unaligned access like the sysfs backend', () => {
    const { sim } = load();
    expect(() => sim.readConfigAt('0000:7f:00.0', 0, 4)).toThrow(AccessError);
    expect(() => sim.readConfigAt('0000:01:00.0', 2, 4)).toThrow(/aligned/);
  });
});

describe('register semantics', () => {
  it('keeps read-only registers, writes writable bits, clears RW1C bits written with 1', () => {
    const { sim } = load();
    const bdf = '0000:01:00.0';
    sim.writeConfigAt(bdf, 0, 4, 0x12345678);
    expect(sim.readConfigAt(bdf, 0, 4)).toBe(0x10fb8086);
    sim.writeConfigAt(bdf, 4, 2, 0xffff);
    expect(sim.readConfigAt(bdf, 4, 2)).toBe(0x07ff);
    sim.get(bdf).config[7] = 0x80; // a parity error in Status
    sim.writeConfigAt(bdf, 4, 4, 0x80000406);
    expect(sim.readConfigAt(bdf, 6, 2) & 0x8000).toBe(0);
  });
});

describe('function level reset', () => {
  it('clears BARs, Command, DevCtl, MSI and MSI-X enables; reads all-ones until ready; flags access inside the 100 ms', async () => {
    const { sim, clock } = load();
    const bdf = '0000:02:00.0'; // below a root port without RRS visibility
    expect(sim.readConfigAt(bdf, 0x10, 4)).not.toBe(0);
    sim.writeConfigAt(bdf, DEVCTL, 2, sim.readConfigAt(bdf, DEVCTL, 2) | 0x8000);
    expect(sim.resetLog.map((r) => [r.bdf, r.kind])).toEqual([[bdf, 'flr']]);
    expect(sim.readConfigAt(bdf, 0, 4)).toBe(0xffffffff);
    expect(sim.violations).toHaveLength(1);
    await clock.sleep(100);
    expect(sim.readConfigAt(bdf, 0, 4)).toBe(0x10fb8086);
    expect(sim.readConfigAt(bdf, 0x10, 4)).toBe(0);
    expect(sim.readConfigAt(bdf, 4, 2)).toBe(0);
    expect(sim.readConfigAt(bdf, DEVCTL, 2)).toBe(0x2810);
    expect(sim.readConfigAt(bdf, LAYOUT.msi + 2, 2) & 1).toBe(0);
    expect(sim.readConfigAt(bdf, LAYOUT.msix + 2, 2) & 0xc000).toBe(0);
    expect(sim.violations).toHaveLength(1);
  });

  it('answers with the RRS Vendor ID 0x0001 below a root port with CRS visibility on', async () => {
    const { sim, clock } = load(smallTree(), { defaults: { readyDelayMs: 300 } });
    const bdf = '0000:01:00.0';
    sim.writeConfigAt(bdf, DEVCTL, 2, 0x8000);
    await clock.sleep(150);
    expect(sim.readConfigAt(bdf, 0, 4)).toBe(0xffff0001);
    expect(sim.readConfigAt(bdf, 0, 2)).toBe(0x0001);
    expect(sim.readConfigAt(bdf, 4, 4)).toBe(0xffffffff);
    await clock.sleep(200);
    expect(sim.readConfigAt(bdf, 0, 2)).toBe(0x8086);
  });

  it('does nothing when DevCap has no FLR', () => {
    const { sim } = load();
    sim.writeConfigAt('0000:06:00.0', DEVCTL, 2, 0x8000);
    expect(sim.resetLog).toEqual([]);
  });

  it('resets through AF_CTRL when the AF capability has TP and FLR', async () => {
    const tree = new MockTree()
      .add(rootPort('0000:00:1e.0', 1, 1, { linkSpeed: 1 }))
      .add({ bdf: '0000:01:00.0', parent: '0000:00:1e.0', vendor: 0x8086, device: 0x107c, classCode: 0x020000, pm: { version: 2 }, af: { tp: true, flr: true }, command: 0x0007 });
    const { sim, clock } = load(tree);
    sim.writeConfigAt('0000:01:00.0', LAYOUT.af + 4, 1, 1);
    expect(sim.resetLog.map((r) => r.kind)).toEqual(['af_flr']);
    await clock.sleep(100);
    expect(sim.readConfigAt('0000:01:00.0', 4, 2)).toBe(0);
  });
});

describe('PM reset', () => {
  it('D3hot then D0 resets when No_Soft_Reset is clear; too short a D3hot is a violation', async () => {
    const { sim, clock } = load();
    const bdf = '0000:01:00.0';
    const pmcsr = LAYOUT.pm + 4;
    sim.writeConfigAt(bdf, pmcsr, 2, 3);
    expect(sim.readConfigAt(bdf, pmcsr, 2) & 3).toBe(3);
    await clock.sleep(10);
    sim.writeConfigAt(bdf, pmcsr, 2, 0);
    expect(sim.resetLog.map((r) => r.kind)).toEqual(['pm']);
    expect(sim.violations).toEqual([]);
    await clock.sleep(10);
    expect(sim.readConfigAt(bdf, 4, 2)).toBe(0);
    sim.writeConfigAt(bdf, pmcsr, 2, 3);
    await clock.sleep(2);
    sim.writeConfigAt(bdf, pmcsr, 2, 0);
    expect(sim.violations.map((v) => v.what)).toEqual([expect.stringContaining('D3hot->D0 after 2.0 ms')]);
  });

  it('keeps the state when No_Soft_Reset is set', async () => {
    const tree = new MockTree().add(endpoint('0000:00:1f.0', undefined, { pm: { version: 3, noSoftReset: true } }));
    const { sim, clock } = load(tree);
    sim.writeConfigAt('0000:00:1f.0', LAYOUT.pm + 4, 2, 3);
    await clock.sleep(10);
    sim.writeConfigAt('0000:00:1f.0', LAYOUT.pm + 4, 2, 0);
    expect(sim.resetLog).toEqual([]);
    expect(sim.readConfigAt('0000:00:1f.0', 4, 2)).toBe(0x0406);
  });
});

describe('secondary bus reset', () => {
  it('holds everything below in reset, then power-on values; a nested bridge loses its bus numbers', async () => {
    const { sim, clock } = load();
    const rp = '0000:00:03.0';
    sim.writeConfigAt(rp, 0x3e, 2, 0x0050);
    expect(sim.readConfigAt('0000:03:00.0', 0, 4)).toBe(0xffffffff);
    expect(sim.readConfigAt(rp, LAYOUT.pcie + 0x12, 2) & 0x2000).toBe(0);
    await clock.sleep(2);
    sim.writeConfigAt(rp, 0x3e, 2, 0x0010);
    expect(new Set(sim.resetLog.map((r) => r.bdf))).toEqual(new Set(['0000:03:00.0', '0000:04:08.0', '0000:04:09.0', '0000:05:00.0', '0000:06:00.0']));
    await clock.sleep(20);
    expect(sim.readConfigAt(rp, LAYOUT.pcie + 0x12, 2) & 0x2000).toBe(0x2000);
    await clock.sleep(100);
    expect(sim.readConfigAt('0000:03:00.0', 0x18, 4) & 0xffffff).toBe(0);
    expect(sim.readConfigAt('0000:04:08.0', 0, 4)).toBe(0xffffffff);
    sim.writeConfigAt('0000:03:00.0', 0x18, 4, 0x00060403);
    expect(sim.readConfigAt('0000:04:08.0', 0, 2)).toBe(0x10b5);
    expect(sim.violations).toEqual([]);
  });

  it('records too short a reset pulse', () => {
    const { sim } = load();
    sim.writeConfigAt('0000:00:01.0', 0x3e, 2, 0x0050);
    sim.writeConfigAt('0000:00:01.0', 0x3e, 2, 0x0010);
    expect(sim.violations[0]!.what).toMatch(/held 0\.00 ms/);
  });

  it('keeps the bit set when it is stuck', async () => {
    const { sim, clock } = load(smallTree(), { behaviour: { '0000:00:01.0': { stuckResetBit: true } } });
    sim.writeConfigAt('0000:00:01.0', 0x3e, 2, 0x0050);
    await clock.sleep(2);
    sim.writeConfigAt('0000:00:01.0', 0x3e, 2, 0x0010);
    expect(sim.readConfigAt('0000:00:01.0', 0x3e, 2) & 0x40).toBe(0x40);
    expect(sim.readConfigAt('0000:01:00.0', 0, 4)).toBe(0xffffffff);
  });
});

describe('transactions pending', () => {
  it('stays set while Bus Master is on and clears pendingMs after it goes off; `never` keeps it', async () => {
    const tree = smallTree((t) => {
      t.add(endpoint('0000:00:1e.0', undefined, { pcie: { type: 'rc_integrated_endpoint', flr: true, transactionsPending: true } }));
      t.add(endpoint('0000:00:1d.0', undefined, { pcie: { type: 'rc_integrated_endpoint', flr: true, transactionsPending: true } }));
    });
    const { sim, clock } = load(tree, { behaviour: { '0000:00:1d.0': { pendingMs: 'never' } } });
    const tp = (b: string): number => sim.readConfigAt(b, DEVSTA, 2) & 0x20;
    await clock.sleep(1000);
    expect(tp('0000:00:1e.0')).toBe(0x20);
    sim.writeConfigAt('0000:00:1e.0', 4, 2, 0x0400);
    sim.writeConfigAt('0000:00:1d.0', 4, 2, 0x0400);
    await clock.sleep(149);
    expect(tp('0000:00:1e.0')).toBe(0x20);
    await clock.sleep(1);
    expect(tp('0000:00:1e.0')).toBe(0);
    await clock.sleep(5000);
    expect(tp('0000:00:1d.0')).toBe(0x20);
  });
});

describe('SR-IOV', () => {
  const sriovTree = (): MockTree =>
    new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { sriov: { totalVfs: 8, numVfs: 2, vfDevice: 0x10ed, offset: 0x80, stride: 1 } }))
      .add({ bdf: '0000:01:10.0', parent: '0000:00:01.0', physfn: '0000:01:00.0', vendor: 0x8086, device: 0x10ed, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, driver: 'ixgbevf', command: 0x0004 })
      .add({ bdf: '0000:01:10.1', parent: '0000:00:01.0', physfn: '0000:01:00.0', vendor: 0x8086, device: 0x10ed, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, driver: 'ixgbevf', command: 0x0004 });

  it('an FLR of the PF clears VF Enable: the VFs vanish, and come back at power-on values with it', async () => {
    const { sim, clock } = load(sriovTree());
    expect(sim.readConfigAt('0000:01:10.1', 4, 2)).toBe(0x0004);
    sim.writeConfigAt('0000:01:00.0', DEVCTL, 2, 0x8000);
    await clock.sleep(100);
    expect(sim.readConfigAt('0000:01:10.1', 4, 4)).toBe(0xffffffff);
    sim.writeConfigAt('0000:01:00.0', LAYOUT.sriov + 0x10, 2, 2);
    sim.writeConfigAt('0000:01:00.0', LAYOUT.sriov + 8, 2, 0x0019);
    await clock.sleep(100);
    expect(sim.readConfigAt('0000:01:10.1', 4, 2)).toBe(0);
    expect(sim.violations).toEqual([]);
  });
});

describe('the kernel sysfs files', () => {
  it('reset_method: names checked and probed at write time, default re-probes, empty disables', () => {
    const { sim } = load();
    const bdf = '0000:01:00.0';
    expect(() => sim.writeAttribute(bdf, 'reset_method', 'af')).toThrow(/EINVAL|invalid argument/);
    expect(() => sim.writeAttribute(bdf, 'reset_method', 'af_flr')).toThrow(/Unsupported reset method 'af_flr'/);
    sim.writeAttribute(bdf, 'reset_method', 'pm flr');
    expect(sim.readAttribute(bdf, 'reset_method')).toBe('pm flr\n');
    sim.writeAttribute(bdf, 'reset_method', '\n');
    expect(sim.readAttribute(bdf, 'reset_method')).toBe('\n');
    expect(() => sim.writeAttribute(bdf, 'reset', '1')).toThrow(/ENOTTY|inappropriate/i);
    sim.writeAttribute(bdf, 'reset_method', 'default');
    expect(sim.readAttribute(bdf, 'reset_method')).toBe('flr pm bus\n');
  });

  it('reset: only 1 is accepted; the kernel resets and restores, taking the time it takes', async () => {
    const { sim, clock } = load();
    const bdf = '0000:01:00.0';
    const before = sim.snapshot();
    expect(() => sim.writeAttribute(bdf, 'reset', '2')).toThrow(/EINVAL|invalid argument/);
    await sim.writeAttributeAsync(bdf, 'reset', '0x1');
    expect(clock.now()).toBe(100);
    expect(sim.resetLog.map((r) => r.kind)).toEqual(['kernel:flr']);
    expect(sim.diff(before)).toEqual([]);
  });

  it('refuses a stale bus at reset time: function 0 of a multi-function device', async () => {
    const tree = new MockTree()
      .add(rootPort('0000:00:01.0', 1, 1))
      .add(endpoint('0000:01:00.0', '0000:00:01.0', { pcie: { type: 'legacy_endpoint' }, pm: { version: 3, noSoftReset: true } }))
      .add(endpoint('0000:01:00.1', '0000:00:01.0', { pcie: { type: 'legacy_endpoint' }, pm: { version: 3, noSoftReset: true } }));
    const { sim } = load(tree);
    expect(sim.readAttribute('0000:01:00.0', 'reset_method')).toBe('bus\n');
    await expect(sim.writeAttributeAsync('0000:01:00.0', 'reset', '1')).rejects.toThrow(/ENOTTY|inappropriate/i);
    expect(() => sim.writeAttribute('0000:01:00.0', 'reset_method', 'bus')).toThrow(/Unsupported reset method 'bus'/);
  });

  it('reset_subordinate resets every function below with save and restore', async () => {
    const { sim } = load(smallTree(), { resetSubordinate: true });
    const before = sim.snapshot();
    await sim.writeAttributeAsync('0000:00:03.0', 'reset_subordinate', '1');
    expect(sim.resetLog.filter((r) => r.kind === 'kernel:bus')).toHaveLength(5);
    expect(sim.diff(before)).toEqual([]);
    expect(sim.listAttributes('0000:01:00.0')).not.toContain('reset_subordinate');
  });
});

describe('fault injection', () => {
  it('fails, corrupts, drops and counts by operation, function, offset and position', () => {
    const { sim } = load();
    const eio = sim.faults.add({ op: 'readConfigAt', bdf: '0000:01:00.0', offset: [0x10, 0x14], action: { kind: 'error', code: 'EIO' } });
    expect(() => sim.readConfigAt('0000:01:00.0', 0x10, 4)).toThrow(/EIO|input\/output/);
    expect(sim.readConfigAt('0000:01:00.0', 0x14, 4)).toBe(0);
    expect(eio.fired).toBe(1);
    eio.remove();
    sim.faults.add({ op: 'writeConfigAt', bdf: '0000:01:00.0', offset: 4, action: { kind: 'drop' } });
    sim.writeConfigAt('0000:01:00.0', 4, 2, 0);
    expect(sim.readConfigAt('0000:01:00.0', 4, 2)).toBe(0x0406);
    sim.faults.add({ after: 2, times: 1, action: { kind: 'value', value: 0xdead } });
    const reads = [0, 1, 2, 3].map(() => sim.readConfigAt('0000:02:00.0', 0, 2));
    expect(reads).toEqual([0x8086, 0x8086, 0xdead, 0x8086]);
    expect(sim.trace.at(-1)).toMatchObject({ op: 'readConfigAt', bdf: '0000:02:00.0', outcome: 'ok' });
  });

  it('vanishing: all-ones while still listed, or removed with the directory', () => {
    const { sim } = load();
    sim.faults.add({ bdf: '0000:01:00.0', op: 'readConfigAt', action: { kind: 'vanish' } });
    expect(sim.readConfigAt('0000:01:00.0', 0, 4)).toBe(0xffffffff);
    sim.vanish('0000:02:00.0', 'removed');
    expect(sim.listFunctions().map((f) => f.bdf)).not.toContain('0000:02:00.0');
    expect(sim.readConfig('0000:02:00.0')).toBeNull();
    expect(() => sim.readConfigAt('0000:02:00.0', 0, 4)).toThrow(/ENOENT|no such file/);
  });

  it('a reset write answered with an errno, or never answered', async () => {
    const { sim, clock } = load();
    sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:01:00.0', action: { kind: 'error', code: 'EBUSY' } });
    await expect(sim.writeAttributeAsync('0000:01:00.0', 'reset', '1')).rejects.toMatchObject({ code: 'EBUSY' });
    sim.faults.add({ op: 'writeAttribute', name: 'reset', bdf: '0000:02:00.0', action: { kind: 'hang' } });
    let settled = false;
    void sim.writeAttributeAsync('0000:02:00.0', 'reset', '1').then(() => (settled = true));
    await clock.sleep(60000);
    expect(settled).toBe(false);
  });
});

describe('virtual clock', () => {
  it('runs concurrent sleepers side by side, each waking at its own virtual time', async () => {
    const clock = new VirtualClock();
    const ends: number[] = [];
    await Promise.all([100, 1100, 60000, 5].map(async (ms) => {
      await clock.sleep(ms);
      ends.push(clock.now());
    }));
    expect(ends).toEqual([5, 100, 1100, 60000]);
  });

  it('a sleep cut short by its signal resolves at once', async () => {
    const clock = new VirtualClock();
    const ac = new AbortController();
    const p = clock.sleep(1000, ac.signal);
    ac.abort();
    await p;
    expect(clock.now()).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
