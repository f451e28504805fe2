import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT } from './paths.js';
import { tmpDir } from '../helpers/tmp-root.js';

describe('scripts/install-dracut.sh', () => {
  it('installs the bundle, the dracut module (with the unit) and a launcher under DESTDIR', () => {
    const bundle = tmpDir();
    fs.writeFileSync(path.join(bundle, 'pci-reset-agent.mjs'), '#!/usr/bin/env node\n');
    fs.writeFileSync(path.join(bundle, 'koffi.node'), 'x');
    const dest = tmpDir();
    const r = spawnSync('sh', [path.join(PROJECT, 'scripts/install-dracut.sh')], { encoding: 'utf8', env: { ...process.env, DESTDIR: dest, BUNDLE: bundle } });
    expect(r.status, r.stderr).toBe(0);
    const mod = path.join(dest, 'usr/lib/dracut/modules.d/95pci-reset-agent');
    expect(fs.readdirSync(mod).sort()).toEqual(['module-setup.sh', 'pci-reset-agent-kdump.sh', 'pci-reset-agent-pre-udev.sh', 'pci-reset-agent.service']);
    expect(fs.statSync(path.join(mod, 'module-setup.sh')).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(path.join(dest, 'usr/lib/pci-reset-agent')).sort()).toEqual(['koffi.node', 'pci-reset-agent.mjs']);
    expect(fs.existsSync(path.join(dest, 'etc/pci-reset-agent/quirks.d'))).toBe(true);
    expect(fs.readFileSync(path.join(dest, 'usr/sbin/pci-reset-agent'), 'utf8')).toContain('/usr/lib/pci-reset-agent/pci-reset-agent.mjs');
    // Nothing outside DESTDIR: the run above only wrote there (the tree holds just usr/ and etc/).
    expect(fs.readdirSync(dest).sort()).toEqual(['etc', 'usr']);
  });

  it('fails with one clear line when the bundle was not built', () => {
    const r = spawnSync('sh', [path.join(PROJECT, 'scripts/install-dracut.sh')], { encoding: 'utf8', env: { ...process.env, DESTDIR: tmpDir(), BUNDLE: '/nonexistent' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/pci-reset-agent\.mjs missing: run npm run build:bundle/);
  });
});
