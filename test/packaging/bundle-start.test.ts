import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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

describe('bundle start-up', () => {
  it('apply --simulate loads no worker_threads, child_process, assert or dgram (pino writers and commander subprocesses stay out)', () => {
    const loaded = builtinsLoaded(['apply', '--simulate', '--assume-capture-kernel', '--virtual-time', '--root', path.join(dir, 'root'), '--json']);
    expect(loaded).toContain('os'); // the probe sees the bundle's loads at all (pino needs node:os)
    for (const m of ['worker_threads', 'child_process', 'assert', 'dgram']) expect(loaded, m).not.toContain(m);
  });
});
