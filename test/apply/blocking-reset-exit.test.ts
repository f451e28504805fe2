import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApplyReport } from '../../src/apply/apply-report.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { smallTree } from './trees.js';
import { freezeDir } from '../helpers/frozen-dir.js';

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The agent as it runs in a capture kernel: the single-file bundle, its own process. */
let bundle = '';
beforeAll(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bundle-exit-'));
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'scripts/build-bundle.mjs'), '--outdir', dir, '--quiet'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  bundle = path.join(dir, 'pci-reset-agent.mjs');
  return () => fs.rmSync(dir, { recursive: true, force: true });
});

/** Every function's `reset` replaced by a FIFO no one reads: a write to it blocks in the kernel. */
function treeWithBlockingResets(): { dir: string; fifos: string[] } {
  const dir = smallTree().write(tmpDir('pra-block-'));
  const fifos: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'reset' && e.isFile()) {
        fs.rmSync(p);
        expect(spawnSync('mkfifo', [p]).status).toBe(0);
        fifos.push(p);
      }
    }
  };
  walk(path.join(dir, 'sys/devices'));
  expect(fifos.length).toBeGreaterThan(0);
  return { dir, fifos };
}

/**
 * Regression: with `reset` a FIFO no one reads, the agent once blocked in open(2)/write(2) and stayed alive
 * until killed (process.exit() waits for libuv's thread pool). Two guards now stand in the way, and this
 * test runs the real bundle in its own process against them: every kernel write is checked through the
 * root first (a sysfs attribute must be a regular file: a FIFO is refused by kind, EFTYPE, never opened for
 * writing), and the writes themselves are made by a helper process (src/apply/kernel-writer/), so that a
 * write the kernel holds (pci_dev_wait() in a real capture kernel) cannot keep the agent alive. That second
 * guard is tested with a real blocking FIFO write in test/apply/kernel-writer/kernel-writer.test.ts: a FIFO
 * can no longer reach it through apply, and no regular file blocks.
 */
describe('a reset file that would block', () => {
  it('is refused without blocking (non-blocking open: no reader, ENXIO; or by kind, EFTYPE); the agent writes its report and exits by itself; no kernel step is ok', () => {
    const { dir } = treeWithBlockingResets();
    // A hang detector, not a timing assertion: the bound is 20 times the deadline.
    const r = spawnSync(process.execPath, ['--max-semi-space-size=1', bundle, 'apply', '--root', dir, '--deadline', '3000', '--ready-timeout', '500', '--no-registers', '--json'], {
      encoding: 'utf8',
      timeout: 60000,
      killSignal: 'SIGKILL',
      env: { ...process.env, NODE_PATH: '' },
    });
    expect(r.signal, `killed: the agent did not exit by itself\n${r.stderr.slice(-2000)}`).toBeNull();
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
    expect(r.status).toBe(report.exitStatus);
    expect(JSON.parse(r.stdout)).toEqual(report);
    const kernelSteps = report.steps.filter((s) => s.method.startsWith('kernel'));
    expect(kernelSteps.length).toBeGreaterThan(0);
    for (const s of kernelSteps) expect(s.status).not.toBe('ok');
    expect(kernelSteps.some((s) => /reset: (a FIFO, not a regular file|cannot open reset for writing: no reader)/.test(JSON.stringify(s)))).toBe(true);
  });
});

describe('kernel writes from the bundle', () => {
  it('go through the helper process (it starts, and writes "1" to each planned reset file)', () => {
    const dir = smallTree().write(tmpDir('pra-kwrite-'));
    const r = spawnSync(process.execPath, ['--max-semi-space-size=1', bundle, 'apply', '--root', dir, '--deadline', '3000', '--ready-timeout', '500', '--no-registers', '--json'], {
      encoding: 'utf8',
      timeout: 60000,
      killSignal: 'SIGKILL',
      env: { ...process.env, NODE_PATH: '' },
    });
    expect(r.signal).toBeNull();
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
    expect(JSON.stringify(report)).not.toMatch(/helper process/);
    const kernelSteps = report.steps.filter((s) => s.method.startsWith('kernel'));
    expect(kernelSteps.length).toBeGreaterThan(0);
    const written: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name === 'reset' && fs.readFileSync(p, 'utf8') === '1') written.push(p);
      }
    };
    walk(path.join(dir, 'sys/devices'));
    expect(written.length).toBeGreaterThan(0);
  });
});

/**
 * Issue 11 item 8 with a write that really sleeps in the kernel, on a regular file the agent's checks
 * accept: the function's directory frozen (test/helpers/frozen-dir.ts). Once, a blocked `reset` write kept
 * the agent alive until killed (libuv's pool is joined at exit); `reset_method` writes were made in the
 * agent itself. Now both are made by the helper process: the agent gives up on the step at its limit,
 * writes its report naming the write still in the kernel, and exits by itself.
 */
describe('a kernel write that sleeps in the kernel (frozen file system)', () => {
  for (const which of ['reset', 'reset_method'] as const) {
    it(`${which}: the agent reports the write still in the kernel and exits by itself`, (ctx) => {
      const tree = smallTree((t) => {
        // A kernel:<m> step writes reset_method first (the function's vendor:device, from trees.ts's endpoint()).
        if (which === 'reset_method') t.file('etc/pci-reset-agent/quirks.d/test.quirks', '8086:10fb  prefer=kernel:flr  reason="test: a kernel:<m> step"\n');
      });
      const dir = tree.write(tmpDir('pra-frozen-'));
      const fn = fs.realpathSync(path.join(dir, 'sys/bus/pci/devices/0000:02:00.0'));
      const frozen = freezeDir(fn);
      if ('skip' in frozen) return ctx.skip(`cannot freeze a directory here: ${frozen.skip}`);
      try {
        // A hang detector, not a timing assertion: the bound is 20 times the deadline.
        const r = spawnSync(process.execPath, ['--max-semi-space-size=1', bundle, 'apply', '--root', dir, '--deadline', '3000', '--ready-timeout', '300', '--no-registers', '--json'], {
          encoding: 'utf8',
          timeout: 60000,
          killSignal: 'SIGKILL',
          env: { ...process.env, NODE_PATH: '' },
        });
        expect(r.signal, `killed: the agent did not exit by itself\n${r.stderr.slice(-2000)}`).toBeNull();
        const report = JSON.parse(fs.readFileSync(path.join(dir, 'run/pci-reset-agent/report.json'), 'utf8')) as ApplyReport;
        expect(report.stillInKernel).toEqual([{ path: path.join(fn, which), value: which === 'reset' ? '1' : 'flr', forMs: expect.any(Number) }]);
        const step = report.steps.find((s) => s.target === '0000:02:00.0')!;
        expect(step.status).not.toBe('ok');
        expect(step.error).toContain(`the write of "${which === 'reset' ? '1' : 'flr'}" to ${which} has not returned after`);
        // The other functions were reset as planned.
        expect(report.steps.filter((s) => s.target !== '0000:02:00.0' && s.status === 'ok').length).toBeGreaterThan(0);
      } finally {
        frozen.thaw();
      }
    });
  }
});
