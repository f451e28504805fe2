import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PROJECT } from './paths.js';

/**
 * What the kdump bundle loads before its first reset (issue 16, "quiet sooner"): node's built-in modules
 * a kdump `apply` never uses must stay unloaded (scripts/build-bundle.mjs, lazy-start plugin).
 */
let dir = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bundle-start-'));
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'scripts/build-bundle.mjs'), '--outdir', dir, '--quiet'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const m = spawnSync(process.execPath, [path.join(dir, 'pci-reset-agent.mjs'), 'mock', 'server', '--out', path.join(dir, 'root')], { encoding: 'utf8' });
  expect(m.status, m.stderr).toBe(0);
  return () => fs.rmSync(dir, { recursive: true, force: true });
});

/** The built-in modules a bundle run loads beyond node's own start, as process.moduleLoadList names them. */
function builtinsLoaded(args: string[]): string[] {
  const probe = path.join(dir, 'probe.mjs');
  fs.writeFileSync(
    probe,
    [
      'const before = new Set(process.moduleLoadList);',
      "process.on('exit', () => process.stderr.write(`@@loaded ${JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m)))}\\n`));",
      `process.argv.splice(1, 1, ${JSON.stringify(path.join(dir, 'pci-reset-agent.mjs'))});`,
      `await import(${JSON.stringify(path.join(dir, 'pci-reset-agent.mjs'))});`,
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, [probe, ...args], { cwd: dir, encoding: 'utf8' });
  const line = r.stderr.split('\n').find((l) => l.startsWith('@@loaded '));
  expect(line, r.stderr).toBeDefined();
  return (JSON.parse(line!.slice('@@loaded '.length)) as string[]).map((m) => m.replace(/^NativeModule /, ''));
}

function bundle(args: string[]) {
  return spawnSync(process.execPath, [path.join(dir, 'pci-reset-agent.mjs'), ...args], { cwd: dir, encoding: 'utf8' });
}

describe('bundle start-up', () => {
  it('apply --simulate loads no worker_threads, child_process, assert or dgram (pino writers and commander subprocesses stay out)', () => {
    const loaded = builtinsLoaded(['apply', '--simulate', '--assume-capture-kernel', '--virtual-time', '--root', path.join(dir, 'root'), '--json']);
    expect(loaded).toContain('os'); // the probe sees the bundle's loads at all (pino needs node:os)
    for (const m of ['worker_threads', 'child_process', 'assert', 'dgram']) expect(loaded, m).not.toContain(m);
  });

  it("neither apply nor scan loads crypto, zlib, http, https or tls (koffi's download tool and the report's random names need them only when used)", () => {
    // Fails on the build before: koffi's index.js required crypto, https and zlib when the scan loaded it.
    for (const args of [
      ['apply', '--simulate', '--assume-capture-kernel', '--virtual-time', '--root', path.join(dir, 'root'), '--json'],
      ['scan', '--root', path.join(dir, 'root'), '--json'],
    ]) {
      const loaded = builtinsLoaded(args);
      expect(loaded, args[0]).toContain('os');
      for (const m of ['crypto', 'zlib', 'http', 'https', 'tls']) expect(loaded, `${args[0]}: ${m}`).not.toContain(m);
    }
  });

  it('a built-in loaded on first use works when used: zlib for a gzipped pci.ids, crypto for an atomic write', () => {
    const root = path.join(dir, 'ids-root');
    expect(bundle(['mock', 'server', '--out', root]).status).toBe(0);
    fs.mkdirSync(path.join(root, 'usr/share/misc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/share/misc/pci.ids.gz'), zlib.gzipSync('8086  Lazily Loaded Vendor\n'));
    const r = bundle(['scan', '--root', root]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Lazily Loaded Vendor');
    // audit --prometheus replaces its file through a temporary name made with crypto.randomBytes.
    const out = path.join(dir, 'audit.prom');
    const a = bundle(['audit', '--root', root, '--prometheus', out]);
    expect(fs.existsSync(out), a.stderr).toBe(true);
  });

  it('is ASCII only (one non-ASCII byte makes node hold and scan the whole file as two-byte text)', () => {
    const bytes = fs.readFileSync(path.join(dir, 'pci-reset-agent.mjs'));
    const at = bytes.findIndex((b) => b >= 0x80);
    expect(at, at < 0 ? '' : bytes.subarray(Math.max(0, at - 60), at + 20).toString('utf8')).toBe(-1);
  });
});
