import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors/exit-codes.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { smallTree } from './trees.js';
import type { ApplyReport } from '../../src/apply/apply-report.js';
import { unwrap } from '../helpers/unwrap.js';
import { runApply, wantsKernelLog, type ApplyOptions } from '../../src/apply/run-apply.js';

function applyOptions(root: string, more: Partial<ApplyOptions> = {}): ApplyOptions {
  return { root, quirks: [], only: [], exclude: [], waveSize: '32', registers: false, deadline: 30000, readyTimeout: 10000, force: [], ...more };
}

/** Hash of every regular file under a directory (links not followed). */
function treeHash(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      h.update(p);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(fs.readFileSync(p));
      else if (e.isSymbolicLink()) h.update(fs.readlinkSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

const live = () => {
  const dir = smallTree().write(tmpDir('pra-cli-'));
  fs.rmSync(path.join(dir, 'proc/vmcore'));
  fs.writeFileSync(path.join(dir, 'proc/cmdline'), 'BOOT_IMAGE=/vmlinuz ro\n');
  fs.mkdirSync(path.join(dir, 'dev'), { recursive: true });
  return dir;
};

describe('apply --simulate', () => {
  it('rehearses the whole run, reports as a real run would, and writes nothing', async () => {
    const dir = smallTree().write(tmpDir('pra-cli-'));
    const before = treeHash(dir);
    const { code, stdout } = await runCli(['apply', '--root', dir, '--simulate', '--virtual-time', '--json', '--no-registers']);
    expect(code).toBe(EXIT.OK);
    const report = JSON.parse(stdout) as ApplyReport;
    expect(report).toMatchObject({ backend: 'simulator', virtualTime: true, captureKernel: true, deadlineReached: false, exitStatus: 0, schema: 1 });
    expect(typeof report.durationMs).toBe('number');
    expect(report.steps.length).toBeGreaterThan(0);
    for (const s of report.steps) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['id', 'method', 'target', 'functions', 'status', 'durationMs', 'restoreMismatches']));
      expect(s.status).toBe('ok');
    }
    expect(treeHash(dir)).toBe(before);
    expect(fs.existsSync(path.join(dir, 'run'))).toBe(false);
  });

  it('refuses on a live system unless --allow-live; --assume-capture-kernel rehearses a kdump run there', async () => {
    const dir = live();
    const refused = await runCli(['apply', '--root', dir, '--simulate', '--virtual-time', '--no-registers']);
    expect(refused.code).toBe(EXIT.APPLY_REFUSED_LIVE);
    expect(unwrap(refused.stderr)).toMatch(/apply resets nothing on a live system\. To rehearse a kdump run here: --simulate --assume-capture-kernel; to reset functions with no driver bound: --allow-live/);
    const rehearsed = await runCli(['apply', '--root', dir, '--simulate', '--virtual-time', '--assume-capture-kernel', '--json', '--no-registers']);
    expect(rehearsed.code).toBe(EXIT.OK);
  });

  it('with --allow-live resets only functions without a driver, unless forced', async () => {
    const dir = live();
    const { code, stdout } = await runCli(['apply', '--root', dir, '--simulate', '--virtual-time', '--allow-live', '--force', '0000:01:00.0', '--json', '--no-registers']);
    expect(code).toBe(EXIT.OK);
    const report = JSON.parse(stdout) as ApplyReport;
    expect(report.live).toBe(true);
    const byTarget = new Map(report.steps.map((s) => [s.target, s]));
    expect(byTarget.get('0000:01:00.0')!.status).toBe('ok');
    expect(byTarget.get('0000:02:00.0')!.status).toBe('skipped');
    expect(byTarget.get('0000:02:00.0')!.error).toMatch(/live system: 0000:02:00.0 \(ixgbe\) has a driver bound; pass --force 0000:02:00.0/);
  });

  it('bad command lines are usage errors', async () => {
    const dir = smallTree().write(tmpDir('pra-cli-'));
    expect((await runCli(['apply', '--root', dir, '--virtual-time'])).code).toBe(EXIT.USAGE);
    expect((await runCli(['apply', '--root', dir, '--simulate', '--force', 'nonsense'])).code).toBe(EXIT.USAGE);
    expect((await runCli(['apply', '--root', dir, '--simulate', '--force', '0000:7f:00.0', '--no-registers'])).code).toBe(EXIT.USAGE);
    expect((await runCli(['apply', '--root', dir, '--deadline', '0'])).code).toBe(EXIT.USAGE);
  });
});

describe('apply for real on a mock tree', () => {
  it('takes the lock, logs JSON lines to stderr, writes the report, releases the lock', async () => {
    const dir = smallTree().write(tmpDir('pra-cli-'));
    const { code, stdout, stderr } = await runCli(['apply', '--root', dir, '--no-registers', '--log-format', 'json']);
    expect(code).toBe(EXIT.OK);
    expect(stdout).toMatch(/ok, 0 failed, 0 abandoned, 0 skipped/);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
    expect(report.backend).toBe('sysfs');
    expect(report.steps.every((s) => s.status === 'ok')).toBe(true);
    const events = stderr.trim().split('\n');
    expect(events.length).toBeGreaterThan(3);
    for (const line of events) expect(JSON.parse(line)).toMatchObject({ event: expect.any(String) });
    expect(fs.existsSync(path.join(dir, 'run/pci-reset-agent/apply.lock'))).toBe(false);
  });

  /** Regression: a planted dev/kmsg (here a regular file standing for a link to a config file) got the log lines. */
  it('a dev/kmsg that is not the kernel log device is left alone and named in the report', async () => {
    const dir = smallTree((t) => t.file('dev/kmsg', '')).write(tmpDir('pra-cli-'));
    const { code } = await runCli(['apply', '--root', dir, '--no-registers']);
    expect(code).toBe(EXIT.OK);
    expect(fs.readFileSync(path.join(dir, 'dev/kmsg'), 'utf8')).toBe('');
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
    expect(report.problems).toContainEqual(expect.stringMatching(/dev\/kmsg: a regular file, not the kernel log \(character device 1:11\)/));
  });

  it('with the kernel log device (a harmless 1:3 standing in for 1:11) the run logs there without problems', async () => {
    if (process.getuid?.() !== 0) return;
    const dir = smallTree().write(tmpDir('pra-cli-'));
    fs.mkdirSync(path.join(dir, 'dev'), { recursive: true });
    expect(spawnSync('mknod', [path.join(dir, 'dev/kmsg'), 'c', '1', '3']).status).toBe(0);
    let out = '';
    const code = await runApply(applyOptions(dir, { json: true, kmsgDevice: { major: 1, minor: 3 } }), { out: (s) => (out += s), err: () => {} });
    expect(code).toBe(EXIT.OK);
    expect((JSON.parse(out) as ApplyReport).problems.filter((p) => p.includes('kmsg'))).toEqual([]);
  });

  it('another agent holding the lock: exit 6, nothing done', async () => {
    const dir = smallTree().write(tmpDir('pra-cli-'));
    fs.mkdirSync(path.join(dir, 'run/pci-reset-agent'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'run/pci-reset-agent/apply.lock'), `${process.ppid}\n`);
    const { code, stderr } = await runCli(['apply', '--root', dir, '--no-registers']);
    expect(code).toBe(EXIT.APPLY_LOCKED);
    expect(stderr).toMatch(/another pci-reset-agent apply is running/);
    expect(fs.existsSync(path.join(dir, 'run/pci-reset-agent/report.json'))).toBe(false);
  });

  it('on a live tree, refuses without writing anything, the kernel log included', async () => {
    const dir = live();
    fs.writeFileSync(path.join(dir, 'dev/kmsg'), '');
    const before = treeHash(dir);
    const { code, stderr } = await runCli(['apply', '--root', dir, '--no-registers', '--log-format', 'text']);
    expect(code).toBe(EXIT.APPLY_REFUSED_LIVE);
    expect(treeHash(dir)).toBe(before);
    // The refusal is said once (it was printed twice: a JSON event and a plain line).
    expect(stderr.match(/apply resets nothing on a live system/g)).toHaveLength(1);
    const json = await runCli(['apply', '--root', dir, '--no-registers', '--log-format', 'json']);
    expect(json.stderr.match(/apply resets nothing on a live system/g)).toHaveLength(1);
    // --quiet still shows the refusal, and only it.
    const quiet = await runCli(['apply', '--root', dir, '--no-registers', '--quiet', '--log-format', 'text']);
    expect(quiet.stderr.split('\n').filter((l) => l.startsWith('['))).toHaveLength(1);
    expect(quiet.stderr).toMatch(/error: no capture-kernel evidence/);
    const silent = await runCli(['apply', '--root', dir, '--no-registers', '--log-level', 'silent']);
    expect(silent.stderr).toMatch(/^pci-reset-agent: no capture-kernel evidence/);
  });

  /** Regression: a refused apply on a live machine wrote `apply.refused` and `apply.start` to the host's dmesg. */
  it('the kernel log is written only with capture-kernel evidence or --log-kmsg, never in a simulation', () => {
    expect(wantsKernelLog({ simulate: false, captureKernel: false, logKmsg: false })).toBe(false);
    expect(wantsKernelLog({ simulate: false, captureKernel: true, logKmsg: false })).toBe(true);
    expect(wantsKernelLog({ simulate: false, captureKernel: false, logKmsg: true })).toBe(true);
    expect(wantsKernelLog({ simulate: true, captureKernel: true, logKmsg: true })).toBe(false);
  });

  it('a live run with --allow-live leaves the kernel log alone unless --log-kmsg', async () => {
    const dir = live();
    fs.writeFileSync(path.join(dir, 'dev/kmsg'), '');
    const report = (): ApplyReport => JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
    await runCli(['apply', '--root', dir, '--no-registers', '--allow-live']);
    expect(report().problems.filter((p) => p.includes('dev/kmsg'))).toEqual([]);
    await runCli(['apply', '--root', dir, '--no-registers', '--allow-live', '--log-kmsg']);
    // Asked for, it was tried (and refused: a regular file is not the kernel log).
    expect(report().problems).toContainEqual(expect.stringMatching(/dev\/kmsg: a regular file, not the kernel log/));
  });

  it('on a terminal events are text; --log-format json and a pipe give JSON lines', async () => {
    const dir = smallTree().write(tmpDir('pra-cli-'));
    const text = await runCli(['apply', '--root', dir, '--no-registers', '--log-format', 'text']);
    expect(text.stderr).toMatch(/^\[ +\d+\.\d{3}\] apply: \d+ step\(s\) planned/);
    expect(text.stderr).not.toMatch(/^\{/m);
    for (const row of text.stderr.split('\n')) expect(row.length).toBeLessThanOrEqual(80);
    expect((await runCli(['apply', '--root', dir, '--log-format', 'yaml'])).code).toBe(EXIT.USAGE);
    expect((await runCli(['apply', '--root', dir, '--log-level', 'loud'])).code).toBe(EXIT.USAGE);
  });
});

/** Regression: an unreadable PCI listing (a link loop at sys/bus, no devices dir) left no report and no event. */
describe('apply without a PCI listing', () => {
  for (const [kind, breakIt] of [
    ['a link loop at sys/bus', (dir: string) => {
      fs.rmSync(path.join(dir, 'sys/bus'), { recursive: true, force: true });
      fs.symlinkSync('bus', path.join(dir, 'sys/bus'));
    }],
    ['no sys/bus/pci/devices', (dir: string) => fs.rmSync(path.join(dir, 'sys/bus/pci/devices'), { recursive: true, force: true })],
  ] as const) {
    it(`${kind}: status 1, a report naming the listing, an error event`, async () => {
      const dir = smallTree().write(tmpDir('pra-cli-'));
      breakIt(dir);
      const { code, stderr } = await runCli(['apply', '--root', dir, '--no-registers', '--log-format', 'json']);
      expect(code).toBe(EXIT.FAILED);
      const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
      expect(report.exitStatus).toBe(EXIT.FAILED);
      expect(report.steps).toEqual([]);
      expect(report.problems[0]).toMatch(/sys\/bus\/pci\/devices: cannot list PCI functions.*no PCI function was read/);
      const events = stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; level: string });
      expect(events).toContainEqual(expect.objectContaining({ event: 'apply.no_listing', level: 'error' }));
      expect(events.at(-1)).toMatchObject({ event: 'apply.end', status: EXIT.FAILED });
    });
  }
});
