import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApplyReport } from '../../src/apply/apply-report.js';
import { EXIT } from '../../src/errors/exit-codes.js';
import type { PlanMethod } from '../../src/plan/plan.js';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { Deadline } from '../../src/apply/deadline.js';
import { MemoryLog } from '../../src/apply/event-log.js';
import { ExecTopology } from '../../src/apply/exec-topology.js';
import { executePlan } from '../../src/apply/execute.js';
import { scan } from '../../src/scan/scan.js';
import { VirtualClock } from '../../src/time/clock.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { planOf, rig, step } from './fixture.js';
import { endpoint, smallTree } from './trees.js';

/**
 * Safety guards of the executor, each tested here unless a test elsewhere already covers it (README,
 * "Reliability", lists them all with their tests). The planner's side of "never reset" is in
 * test/plan/never-reset.test.ts.
 */

const HOST_BRIDGE = '0000:00:00.0';
const IOMMU = '0000:00:00.2';
/** The small machine plus a host bridge, an AMD IOMMU function, and a (pathological) IOMMU function below a port. */
const tree = () =>
  smallTree((t) =>
    t
      .add({ bdf: HOST_BRIDGE, vendor: 0x8086, device: 0x29c0, classCode: 0x060000, pcie: { type: 'rc_integrated_endpoint', flr: true }, pm: {} })
      .add({ bdf: IOMMU, vendor: 0x1022, device: 0x1481, classCode: 0x080600, pcie: { type: 'rc_integrated_endpoint', flr: true }, pm: {}, msi: true })
      .add(endpoint('0000:01:00.1', '0000:00:01.0', { classCode: 0x080600, device: 0x1482 })),
  );

const writes = (r: ReturnType<typeof rig>) => r.sim.trace.filter((t) => t.op === 'writeConfigAt' || t.op === 'writeAttribute');

describe('the executor never resets a host bridge or the IOMMU, whatever the plan says', () => {
  const cases: [string, PlanMethod, string, string[]][] = [
    ['FLR of the host bridge', 'flr', HOST_BRIDGE, [HOST_BRIDGE]],
    ['PM reset of the host bridge', 'pm', HOST_BRIDGE, [HOST_BRIDGE]],
    ["the kernel's reset of the IOMMU", 'kernel', IOMMU, [IOMMU]],
    ['FLR of the IOMMU', 'flr', IOMMU, [IOMMU]],
    ['a bus reset that would reach an IOMMU function below the port', 'bus', '0000:00:01.0', ['0000:01:00.0', '0000:01:00.1']],
  ];
  for (const [name, method, target, functions] of cases) {
    it(`${name}: refused, nothing written`, async () => {
      const r = rig(tree());
      const res = await r.run([step({ method, target, functions, fallbacks: ['pm', 'bus'] })]);
      const s = res.steps[0]!;
      expect(s.status).toBe('failed');
      expect(s.error).toMatch(/^EPERM in probe 0000:0[01]:00\.[0-2]: 0000:0[01]:00\.[0-2] is (a host bridge \(class 0600\)|the IOMMU \(class 0806\)).*refused whatever the plan says$/);
      expect(writes(r)).toEqual([]);
      expect(r.sim.resetLog).toEqual([]);
    });
  }

  it('other steps of the same run go on', async () => {
    const r = rig(tree());
    const res = await r.run([step({ id: 1, method: 'flr', target: IOMMU }), step({ id: 2, method: 'flr', target: '0000:02:00.0' })]);
    expect(res.steps.map((s) => s.status)).toEqual(['failed', 'ok']);
  });
});

describe('the executor never resets a bridge as a function', () => {
  for (const method of ['flr', 'af_flr', 'pm', 'kernel', 'kernel:flr', 'kernel:pm', 'vfio'] as PlanMethod[]) {
    it(`${method} on a switch port: not supported, nothing written`, async () => {
      const r = rig(tree());
      const res = await r.run([step({ method, target: '0000:04:08.0' })]);
      expect(res.steps[0]!.status).toBe('failed');
      expect(res.steps[0]!.error).toMatch(/never FLR a bridge/);
      expect(writes(r)).toEqual([]);
    });
  }
});

/** sha256 of every file and link under a directory. */
function hashTree(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      h.update(p);
      if (e.isSymbolicLink()) h.update(fs.readlinkSync(p));
      else if (e.isDirectory()) walk(p);
      else h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

describe('apply never writes outside --root', () => {
  it('links out of the root (absolute and climbing) for run/, dev/kmsg, config, reset and reset_method: nothing outside changes', async () => {
    const outside = tmpDir('pra-outside-');
    fs.writeFileSync(path.join(outside, 'config'), Buffer.alloc(4096, 0x5a));
    fs.writeFileSync(path.join(outside, 'kmsg'), '');
    fs.writeFileSync(path.join(outside, 'reset'), '');
    fs.writeFileSync(path.join(outside, 'reset_method'), 'flr\n');
    fs.mkdirSync(path.join(outside, 'run'));
    const dir = smallTree().write(tmpDir('pra-root-'));
    const fn = (bdf: string, name: string) => path.join(dir, 'sys/bus/pci/devices', bdf, name);
    // The run directory (lock and report) and the kernel log: absolute links to the outside.
    fs.symlinkSync(path.join(outside, 'run'), path.join(dir, 'run'));
    fs.mkdirSync(path.join(dir, 'dev'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'kmsg'), path.join(dir, 'dev/kmsg'));
    // Device files a step writes: a config and a reset file climbing out, a reset_method absolute.
    const depth = dir.split('/').length + 8;
    for (const [bdf, name, target] of [
      ['0000:01:00.0', 'config', `${'../'.repeat(depth)}${outside.slice(1)}/config`],
      ['0000:02:00.0', 'reset', path.join(outside, 'reset')],
      ['0000:00:1f.0', 'reset_method', path.join(outside, 'reset_method')],
    ] as const) {
      const p = fs.realpathSync(path.dirname(fn(bdf, name)));
      fs.rmSync(path.join(p, name));
      fs.symlinkSync(target, path.join(p, name));
    }
    const before = hashTree(outside);
    const { code, stdout } = await runCli(['apply', '--root', dir, '--json', '--no-registers']);
    expect(hashTree(outside)).toBe(before);
    // The run still ends with a report (written inside the root, where the absolute link is re-rooted).
    expect([EXIT.OK, EXIT.APPLY_PARTIAL]).toContain(code);
    const report = JSON.parse(stdout) as ApplyReport;
    expect(report.steps.length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, outside.slice(1), 'run/pci-reset-agent/report.json'))).toBe(true);
    // Refused before any open of the file: the kernel resolves it with no link on the way (ELOOP), or the
    // link itself is what the O_PATH open found, and a link is not a sysfs attribute (EFTYPE).
    expect(report.steps.find((x) => x.target === '0000:02:00.0')!.error).toMatch(/^(ELOOP|EFTYPE) in reset 0000:02:00.0: write of "1" to reset: .*(too many levels of symbolic links|a symbolic link, not a regular file)/);
  });

  it('a config or reset_method file that links out is read inside the root, and never written through', async () => {
    const outside = tmpDir('pra-outside-');
    const dir = smallTree().write(tmpDir('pra-root-'));
    for (const [bdf, name] of [['0000:01:00.0', 'config'], ['0000:00:1f.0', 'reset_method']] as const) {
      const p = path.join(fs.realpathSync(path.join(dir, 'sys/bus/pci/devices', bdf)), name);
      const original = fs.readFileSync(p);
      fs.writeFileSync(path.join(outside, `${bdf}-${name}`), Buffer.alloc(original.length, 0x5a));
      // The link names the outside file; inside the root that path holds the original (what a read finds).
      fs.mkdirSync(path.join(dir, outside), { recursive: true });
      fs.writeFileSync(path.join(dir, outside, `${bdf}-${name}`), original);
      fs.rmSync(p);
      fs.symlinkSync(path.join(outside, `${bdf}-${name}`), p);
    }
    const before = hashTree(outside);
    const inside = hashTree(path.join(dir, outside));
    const root = new Root(dir);
    const access = new SysfsAccess(root);
    const clock = new VirtualClock();
    const res = await executePlan(planOf([step({ method: 'pm', target: '0000:01:00.0' }), step({ method: 'kernel:pm', target: '0000:00:1f.0' })]), {
      access, clock, log: new MemoryLog(), topo: new ExecTopology(scan(access, dir)), deadline: new Deadline(clock, 30000), readyTimeoutMs: 1000, vfio: () => Promise.reject(new Error('no vfio')),
    });
    // Register reads and writes open the file without following a link at all (O_NOFOLLOW): the step stops at its probe.
    expect(res.steps[0]!.error).toMatch(/^ELOOP in probe 0000:01:00.0: config read of PMCSR at 0x44: .*too many levels of symbolic links/);
    expect(res.steps[1]!.error).toMatch(/^ELOOP in reset 0000:00:1f.0: the kernel refuses reset_method "pm": .*too many levels of symbolic links/);
    expect(hashTree(outside)).toBe(before);
    expect(hashTree(path.join(dir, outside))).toBe(inside);
  });
});

describe('the lock', () => {
  it('a lock left by a process that really died is taken over, and the report says so', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    expect(pid).toBeGreaterThan(1);
    const dir = smallTree().write(tmpDir('pra-lock-'));
    fs.mkdirSync(path.join(dir, 'run/pci-reset-agent'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'run/pci-reset-agent/apply.lock'), `${pid}\n`);
    const { code } = await runCli(['apply', '--root', dir, '--no-registers']);
    expect(code).toBe(EXIT.OK);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
    expect(report.problems).toContain(`stale lock of pid ${pid} (not running) taken over`);
    expect(fs.existsSync(path.join(dir, 'run/pci-reset-agent/apply.lock'))).toBe(false);
  });
});
