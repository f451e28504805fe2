import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { Deadline } from '../../src/apply/deadline.js';
import { MemoryLog } from '../../src/apply/event-log.js';
import { ExecTopology } from '../../src/apply/exec-topology.js';
import { executePlan } from '../../src/apply/execute.js';
import { scan } from '../../src/scan/scan.js';
import { VirtualClock } from '../../src/time/clock.js';
import { runBlockingIoctl } from '../../native-bindings/vfio.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { planOf, step } from './fixture.js';
import { smallTree } from './trees.js';

describe('the executor through the sysfs backend (a mock tree stands in for /sys)', () => {
  it('raw PM and bus resets write the config files and leave them as they were', async () => {
    const dir = smallTree().write(tmpDir('pra-sysfs-'));
    const root = new Root(dir);
    const access = new SysfsAccess(root);
    const clock = new VirtualClock();
    const file = (bdf: string): Buffer => fs.readFileSync(path.join(dir, 'sys/bus/pci/devices', bdf, 'config'));
    const before = ['0000:01:00.0', '0000:00:02.0', '0000:02:00.0'].map(file);
    const log = new MemoryLog();
    const res = await executePlan(
      planOf([step({ method: 'pm', target: '0000:01:00.0' }), step({ method: 'bus', target: '0000:00:02.0', functions: ['0000:02:00.0'] })]),
      { access, clock, log, topo: new ExecTopology(scan(access, dir)), deadline: new Deadline(clock, 30000), readyTimeoutMs: 1000, vfio: () => Promise.reject(new Error('no vfio')) },
    );
    // A file does not reset itself: Command still reads the 0x0400 written before the reset, which is how a
    // device that ignores its reset looks, so both steps fail and nothing is reported reset.
    expect(res.steps.map((s) => s.status)).toEqual(['failed', 'failed']);
    for (const s of res.steps) expect(s.error).toMatch(/reset had no effect: Command still 0x0400/);
    // Command 0x0400, D3hot, D0 were written, then the saved state, Bus Master left off (the bridge is untouched).
    const noMaster = (b: Buffer): Buffer => {
      const c = Buffer.from(b);
      c[4] = c[4]! & ~0x04;
      return c;
    };
    expect(['0000:01:00.0', '0000:00:02.0', '0000:02:00.0'].map(file)).toEqual([noMaster(before[0]!), before[1], noMaster(before[2]!)]);
    // The PM step fails in the method and is written back by its cleanup; the bus step's function as it answers.
    expect(log.events.filter((e) => e.event === 'step.restored').map((e) => e.bdf)).toEqual(['0000:02:00.0']);
  });
});

describe('a file is not a device', () => {
  it('an Initiate FLR bit that stays written is caught as a broken function', async () => {
    const dir = smallTree().write(tmpDir('pra-sysfs-'));
    const access = new SysfsAccess(new Root(dir));
    const clock = new VirtualClock();
    const res = await executePlan(planOf([step({ method: 'flr', target: '0000:01:00.0' })]), {
      access, clock, log: new MemoryLog(), topo: new ExecTopology(scan(access, dir)), deadline: new Deadline(clock, 30000), readyTimeoutMs: 1000, vfio: () => Promise.reject(new Error('no vfio')),
    });
    expect(res.steps[0]!.error).toMatch(/Initiate Function Level Reset still reads 1/);
  });
});

describe('VFIO through koffi', () => {
  it('a blocking ioctl runs on a worker thread and brings its errno back (fd 0 is not a VFIO device: ENOTTY)', async () => {
    const { ret, errno } = await runBlockingIoctl(0, 0x3b6f);
    expect(ret).toBe(-1);
    expect(errno).toBe(25);
  });
});
