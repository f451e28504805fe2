import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/tmp-root.js';

const DIR = path.resolve(__dirname, '../../systemd');
const NAMES = ['pci-reset-agent-audit.service', 'pci-reset-agent-audit.timer', 'pci-reset-agent-audit.path'];
const read = (n: string): string => fs.readFileSync(path.join(DIR, n), 'utf8');
const have = (cmd: string): boolean => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;

describe('audit units', () => {
  it('the service runs audit --prometheus into node_exporter\'s textfile directory; 7 (at risk) is not a failure', () => {
    const s = read('pci-reset-agent-audit.service');
    expect(s).toMatch(/^ExecStart=\/usr\/sbin\/pci-reset-agent audit --prometheus \/var\/lib\/prometheus\/node-exporter\/pci_reset_agent\.prom$/m);
    expect(s).toMatch(/^SuccessExitStatus=7$/m);
    expect(s).toMatch(/^ProtectSystem=strict$/m);
    expect(s).toMatch(/^ReadWritePaths=\/var\/lib\/prometheus\/node-exporter$/m);
  });

  it('daily, and again whenever either tool rewrites its kdump image', () => {
    expect(read('pci-reset-agent-audit.timer')).toMatch(/^OnCalendar=daily$/m);
    const p = read('pci-reset-agent-audit.path');
    expect(p).toMatch(/^PathChanged=\/var\/lib\/kdump$/m);
    expect(p).toMatch(/^PathChanged=\/boot$/m);
    expect(p).toMatch(/^Unit=pci-reset-agent-audit\.service$/m);
  });

  it.skipIf(!have('systemd-analyze'))('systemd-analyze verify: no warnings once the launcher exists', () => {
    const root = tmpDir();
    const unitDir = path.join(root, 'etc/systemd/system');
    fs.mkdirSync(unitDir, { recursive: true });
    fs.mkdirSync(path.join(root, 'usr/sbin'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/sbin/pci-reset-agent'), '#!/bin/sh\n', { mode: 0o755 });
    for (const n of NAMES) fs.writeFileSync(path.join(unitDir, n), read(n));
    // The units keep systemd's default dependencies (sysinit.target, timers.target, …): give verify the host's.
    for (const dir of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
      if (fs.existsSync(dir)) {
        fs.cpSync(dir, path.join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
        break;
      }
    }
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...NAMES.map((n) => `/etc/systemd/system/${n}`)], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
