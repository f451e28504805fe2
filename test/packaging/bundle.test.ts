import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT } from './paths.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * The single-file bundle (scripts/build-bundle.mjs) run from a directory with no node_modules anywhere above
 * it, as in an initramfs: it must behave exactly like the tsc build.
 */
let dir = '';
function bundle(args: string[]) {
  return spawnSync(process.execPath, [path.join(dir, 'pci-reset-agent.mjs'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bundle-'));
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'scripts/build-bundle.mjs'), '--outdir', dir, '--quiet'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return () => fs.rmSync(dir, { recursive: true, force: true });
});

describe('single-file bundle', () => {
  it('is one .mjs plus koffi.node, with no node_modules reachable', () => {
    expect(fs.readdirSync(dir).sort()).toEqual(['koffi.node', 'pci-reset-agent.mjs']);
    let d = dir;
    while (d !== path.dirname(d)) {
      expect(fs.existsSync(path.join(d, 'node_modules')), d).toBe(false);
      d = path.dirname(d);
    }
    const head = fs.readFileSync(path.join(dir, 'pci-reset-agent.mjs'), 'utf8').slice(0, 200);
    expect(head).toMatch(/^#!\/usr\/bin\/env (-S )?node\b/);
  });

  it('--version and --help match the tsc build (every registered command is in the bundle)', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT, 'package.json'), 'utf8')) as { version: string };
    const v = bundle(['--version']);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = bundle(['--help']);
    const inProcess = await runCli(['--help']);
    expect(h.stdout).toBe(inProcess.stdout);
  });

  it('scan --json of a mock server tree is byte-identical to the tsc build', async () => {
    const root = path.join(dir, 'srv');
    const m = bundle(['mock', 'server', '--out', root]);
    expect(m.status, m.stderr).toBe(0);
    const b = bundle(['scan', '--json', '--root', root]);
    expect(b.status, b.stderr).toBe(0);
    const t = await runCli(['scan', '--json', '--root', root]);
    expect(b.stdout).toBe(t.stdout);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('bad input is one line on stderr, no stack trace', () => {
    const r = bundle(['scan', '--root', path.join(dir, 'does-not-exist')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("apply's deadline counts from the kdump runner's exec of node (PRA_EXEC_UPTIME), not from node's own start", () => {
    const root = path.join(dir, 'deadline-root');
    expect(bundle(['mock', 'server', '--out', root]).status).toBe(0);
    const up = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const run = (execUptime: number) =>
      spawnSync(process.execPath, [path.join(dir, 'pci-reset-agent.mjs'), 'apply', '--simulate', '--assume-capture-kernel', '--json', '--root', root, '--deadline', '30000'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: '', PRA_EXEC_UPTIME: execUptime.toFixed(2) },
      });
    // The runner started node 40 s ago (a cold start from squashfs): a 30 s deadline has already passed.
    const late = JSON.parse(run(up - 40).stdout) as { deadlineReached: boolean; steps: Array<{ status: string }> };
    // Started just now: the same run completes.
    const now = JSON.parse(run(up).stdout) as { deadlineReached: boolean; steps: Array<{ status: string }> };
    fs.rmSync(root, { recursive: true, force: true });
    expect(late.deadlineReached).toBe(true);
    expect(late.steps.length).toBeGreaterThan(0);
    expect(late.steps.every((st) => st.status === 'abandoned')).toBe(true);
    expect(now.deadlineReached).toBe(false);
    expect(now.steps.every((st) => st.status === 'ok')).toBe(true);
  });

  it('logs through pino, bundled: one JSON event per line on stderr (apply --simulate on a mock tree)', async () => {
    const root = path.join(dir, 'apply-root');
    expect(bundle(['mock', 'server', '--out', root]).status).toBe(0);
    const r = bundle(['apply', '--simulate', '--virtual-time', '--assume-capture-kernel', '--json', '--root', root]);
    fs.rmSync(root, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { event?: string; level?: string });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['apply.start', 'step.start', 'step.end', 'apply.end']));
    const report = JSON.parse(r.stdout) as { steps: Array<{ status: string }> };
    expect(report.steps.length).toBeGreaterThan(0);
    expect(report.steps.every((st) => st.status === 'ok')).toBe(true);
  });

  it('reads an IOMMU register through koffi.node beside itself (iommu on a mock /dev/mem)', () => {
    // The register step maps dev/mem with koffi's mmap; under a mock root dev/mem is a sparse file holding
    // VT-d GSTS (0xC7000000: TES, RTPS, QIES, IRES, IRTPS as QEMU reports it) at the unit's base + 0x1C.
    const root = path.join(dir, 'iommu-root');
    expect(bundle(['mock', 'server', '--out', root]).status).toBe(0);
    const unit = path.join(root, 'sys/class/iommu/dmar0/intel-iommu');
    fs.mkdirSync(unit, { recursive: true });
    fs.writeFileSync(path.join(unit, 'address'), 'fed90000\n');
    fs.writeFileSync(path.join(unit, 'cap'), 'd2008c22260286\n');
    fs.writeFileSync(path.join(unit, 'ecap'), 'f00f4a\n');
    fs.writeFileSync(path.join(unit, 'version'), '1:0\n');
    fs.mkdirSync(path.join(root, 'dev'), { recursive: true });
    const mem = path.join(root, 'dev/mem');
    const fd = fs.openSync(mem, 'w');
    fs.ftruncateSync(fd, 0xfed91000);
    const gsts = Buffer.alloc(4);
    gsts.writeUInt32LE(0xc7000000);
    fs.writeSync(fd, gsts, 0, 4, 0xfed9001c);
    fs.closeSync(fd);
    const r = bundle(['iommu', '--json', '--root', root]);
    fs.rmSync(root, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { evidence: Array<{ source: string; fact: string }>; problems: string[] };
    const mmio = report.evidence.filter((e) => e.source === 'mmio:dmar0');
    expect(mmio.map((e) => e.fact).join('\n'), JSON.stringify(report.problems)).toMatch(/GSTS=0xc7000000/);
  });
});
