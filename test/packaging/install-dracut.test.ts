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

  it('PREFIX=/usr/local: the agent under /usr/local, the module still where dracut reads modules, pointing at it', () => {
    const bundle = tmpDir();
    fs.writeFileSync(path.join(bundle, 'pci-reset-agent.mjs'), '#!/usr/bin/env -S node --max-semi-space-size=1\n');
    const dest = tmpDir();
    const r = spawnSync('sh', [path.join(PROJECT, 'scripts/install-dracut.sh')], { encoding: 'utf8', env: { ...process.env, DESTDIR: dest, BUNDLE: bundle, PREFIX: '/usr/local' } });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dest, 'usr/local/lib/dracut'))).toBe(false);
    const setup = fs.readFileSync(path.join(dest, 'usr/lib/dracut/modules.d/95pci-reset-agent/module-setup.sh'), 'utf8');
    expect(setup).toContain(': "${PCI_RESET_AGENT_LIBDIR:=/usr/local/lib/pci-reset-agent}"');
    expect(fs.existsSync(path.join(dest, 'usr/local/lib/pci-reset-agent/pci-reset-agent.mjs'))).toBe(true);
  });

  it('warns when DRACUTMODDIR is somewhere dracut does not read', () => {
    const bundle = tmpDir();
    fs.writeFileSync(path.join(bundle, 'pci-reset-agent.mjs'), '#!/usr/bin/env node\n');
    const r = spawnSync('sh', [path.join(PROJECT, 'scripts/install-dracut.sh')], { encoding: 'utf8', env: { ...process.env, DESTDIR: tmpDir(), BUNDLE: bundle, DRACUTMODDIR: '/usr/local/lib/dracut/modules.d' } });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/WARNING: DRACUTMODDIR=\/usr\/local\/lib\/dracut\/modules\.d is not where dracut reads modules/);
  });

  it("the launcher runs node with the bundle's shebang options, and so does the kdump runner", () => {
    const bundle = tmpDir();
    fs.writeFileSync(path.join(bundle, 'pci-reset-agent.mjs'), '#!/usr/bin/env -S node --max-semi-space-size=1\n');
    const dest = tmpDir();
    const r = spawnSync('sh', [path.join(PROJECT, 'scripts/install-dracut.sh')], { encoding: 'utf8', env: { ...process.env, DESTDIR: dest, BUNDLE: bundle } });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dest, 'usr/sbin/pci-reset-agent'), 'utf8')).toMatch(/^exec node --max-semi-space-size=1 "\/usr\/lib\/pci-reset-agent\/pci-reset-agent\.mjs" "\$@"$/m);
    // The real entry's shebang (what esbuild keeps as the bundle's first line) and the runner's default.
    const shebang = fs.readFileSync(path.join(PROJECT, 'src/cli/bin.ts'), 'utf8').split('\n')[0]!;
    const opts = /^#!\/usr\/bin\/env -S node (.*)$/.exec(shebang)?.[1];
    expect(opts).toBeTruthy();
    const runner = fs.readFileSync(path.join(PROJECT, 'systemd/dracut/95pci-reset-agent/pci-reset-agent-kdump.sh'), 'utf8');
    expect(runner).toContain(`PRA_NODE_OPTIONS="${opts}"`);
  });

  it('fails with one clear line when the bundle was not built', () => {
    const r = spawnSync('sh', [path.join(PROJECT, 'scripts/install-dracut.sh')], { encoding: 'utf8', env: { ...process.env, DESTDIR: tmpDir(), BUNDLE: '/nonexistent' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/pci-reset-agent\.mjs missing: run npm run build:bundle/);
  });
});
