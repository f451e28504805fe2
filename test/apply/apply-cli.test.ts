import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { smallTree } from './trees.js';
import type { ApplyReport } from '../../src/apply/apply-report.js';
import { unwrap } from '../helpers/unwrap.js';

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
  it('takes the lock, logs to ROOT/dev/kmsg, writes the report, releases the lock', async () => {
    const dir = smallTree((t) => t.file('dev/kmsg', '')).write(tmpDir('pra-cli-'));
    const { code, stdout, stderr } = await runCli(['apply', '--root', dir, '--no-registers']);
    expect(code).toBe(EXIT.OK);
    expect(stdout).toMatch(/ok, 0 failed, 0 abandoned, 0 skipped/);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
    expect(report.backend).toBe('sysfs');
    expect(report.steps.every((s) => s.status === 'ok')).toBe(true);
    const kmsg = fs.readFileSync(path.join(dir, 'dev/kmsg'), 'utf8').trim().split('\n');
    expect(kmsg.length).toBeGreaterThan(3);
    for (const line of kmsg) expect(line).toMatch(/^<\d>pci-reset-agent: \{/);
    expect(stderr.split('\n').filter((l) => l.startsWith('{')).length).toBe(kmsg.length);
    expect(fs.existsSync(path.join(dir, 'run/pci-reset-agent/apply.lock'))).toBe(false);
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

  it('on a live tree, refuses without writing anything', async () => {
    const dir = live();
    const before = treeHash(dir);
    expect((await runCli(['apply', '--root', dir, '--no-registers'])).code).toBe(EXIT.APPLY_REFUSED_LIVE);
    expect(treeHash(dir)).toBe(before);
  });
});
