import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MODULE_DIR, UNIT, have } from './paths.js';
import { tmpDir } from '../helpers/tmp-root.js';

/** [section] key=value lines of a unit file; repeated keys keep every value. */
function parseUnit(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      continue;
    }
    const i = line.indexOf('=');
    const key = `${section}.${line.slice(0, i)}`;
    m.set(key, [...(m.get(key) ?? []), line.slice(i + 1)]);
  }
  return m;
}

const unit = parseUnit(fs.readFileSync(UNIT, 'utf8'));
const one = (k: string) => (unit.get(k) ?? []).join(' ');

describe('pci-reset-agent.service', () => {
  it('is a oneshot without default dependencies', () => {
    expect(one('Service.Type')).toBe('oneshot');
    expect(one('Unit.DefaultDependencies')).toBe('no');
  });
  it('runs before udev coldplug binds drivers, and only in a capture kernel', () => {
    expect(one('Unit.Before').split(/\s+/)).toContain('systemd-udev-trigger.service');
    expect(one('Unit.ConditionPathExists')).toBe('/proc/vmcore');
  });
  it('cannot fail or hold up the dump: ignored exit status, bounded start, pulled in only by Wants', () => {
    const exec = unit.get('Service.ExecStart') ?? [];
    expect(exec).toHaveLength(1);
    expect(exec[0]).toMatch(/^-\/usr\/libexec\/pci-reset-agent\/pci-reset-agent-kdump$/);
    const t = /^(\d+)s$/.exec(one('Service.TimeoutStartSec'));
    expect(t, 'TimeoutStartSec in seconds').not.toBeNull();
    expect(Number(t![1])).toBeGreaterThan(0);
    expect(Number(t![1])).toBeLessThanOrEqual(300);
    // The runner kills node before the unit's own timeout (PRA_TIMEOUT default 90 s).
    const runner = fs.readFileSync(path.join(MODULE_DIR, 'pci-reset-agent-kdump.sh'), 'utf8');
    const killAfter = Number(/^PRA_TIMEOUT=(\d+)$/m.exec(runner)![1]);
    expect(killAfter).toBeLessThan(Number(t![1]));
    expect(unit.has('Unit.Requires')).toBe(false);
    expect(unit.has('Unit.RequiredBy') || unit.has('Install.RequiredBy')).toBe(false);
    expect(one('Install.WantedBy')).toBe('sysinit.target');
  });

  // Verified inside a scratch root that holds the runner, so the ExecStart check is real. A copy without the
  // `-` prefix is verified too, because systemd does not check the path of a `-` command.
  describe.skipIf(!have('systemd-analyze'))('systemd-analyze verify (skipped: systemd-analyze not installed)', () => {
    it('has no warnings, and its ExecStart exists once the module is installed', () => {
      const root = tmpDir();
      const unitDir = path.join(root, 'etc/systemd/system');
      fs.mkdirSync(unitDir, { recursive: true });
      fs.mkdirSync(path.join(root, 'usr/libexec/pci-reset-agent'), { recursive: true });
      fs.copyFileSync(path.join(MODULE_DIR, 'pci-reset-agent-kdump.sh'), path.join(root, 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump'));
      fs.chmodSync(path.join(root, 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump'), 0o755);
      const text = fs.readFileSync(UNIT, 'utf8');
      fs.writeFileSync(path.join(unitDir, 'pci-reset-agent.service'), text);
      fs.writeFileSync(path.join(unitDir, 'pra-strict.service'), text.replace('ExecStart=-', 'ExecStart='));
      for (const name of ['pci-reset-agent.service', 'pra-strict.service']) {
        const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, `/etc/systemd/system/${name}`], { encoding: 'utf8' });
        expect(`${r.stdout}${r.stderr}`.trim(), name).toBe('');
        expect(r.status, name).toBe(0);
      }
    });
    it('verify catches a missing runner (the check above is not vacuous)', () => {
      const root = tmpDir();
      const unitDir = path.join(root, 'etc/systemd/system');
      fs.mkdirSync(unitDir, { recursive: true });
      fs.writeFileSync(path.join(unitDir, 'pra-strict.service'), fs.readFileSync(UNIT, 'utf8').replace('ExecStart=-', 'ExecStart='));
      const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, '/etc/systemd/system/pra-strict.service'], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/pci-reset-agent-kdump/);
    });
  });
});
