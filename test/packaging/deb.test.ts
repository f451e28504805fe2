import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT, have } from './paths.js';
import { tmpDir } from '../helpers/tmp-root.js';

/**
 * `npm run package:deb` builds the .deb with dpkg-deb alone; lintian (installed by .ci/run) judges it and
 * any error fails. The contents are checked against what the package promises (packaging/README.md).
 */
describe.skipIf(!have('dpkg-deb') || !have('lintian'))('the Debian package (skipped: needs dpkg-deb and lintian)', () => {
  let deb = '';
  let contents = '';
  const info = (field: string) => spawnSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).stdout.trim();

  // Not tmpDir(): that one is removed after each test, and the package serves them all.
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-deb-test-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  beforeAll(() => {
    const r = spawnSync('bash', [path.join(PROJECT, 'scripts/package-deb.sh')], { cwd: PROJECT, encoding: 'utf8', env: { ...process.env, OUT: out } });
    expect(r.status, r.stderr).toBe(0);
    const version = JSON.parse(fs.readFileSync(path.join(PROJECT, 'package.json'), 'utf8')).version;
    deb = path.join(out, `pci-reset-agent_${version}_amd64.deb`);
    expect(fs.existsSync(deb)).toBe(true);
    contents = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).stdout;
  }, 600_000);

  it('lintian reports no error and no warning', () => {
    const r = spawnSync('lintian', ['--fail-on', 'error,warning', deb], { encoding: 'utf8' });
    const tags = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
    expect(tags).toEqual([]);
    expect(r.status).toBe(0);
  }, 300_000);

  it('carries the agent, the launcher, both kdump integrations, settings, reference and licence', () => {
    for (const f of [
      './usr/lib/pci-reset-agent/pci-reset-agent.mjs',
      './usr/lib/pci-reset-agent/koffi.node',
      './usr/sbin/pci-reset-agent',
      './usr/lib/dracut/modules.d/95pci-reset-agent/module-setup.sh',
      './usr/lib/dracut/modules.d/95pci-reset-agent/pci-reset-agent-kdump.sh',
      './usr/lib/dracut/modules.d/95pci-reset-agent/pci-reset-agent.service',
      './usr/share/initramfs-tools/hooks/pci-reset-agent',
      './usr/share/initramfs-tools/scripts/init-top/pci-reset-agent',
      './etc/pci-reset-agent/kdump.conf',
      './etc/pci-reset-agent/quirks.d/',
      './usr/share/man/man8/pci-reset-agent.8.gz',
      './usr/share/bash-completion/completions/pci-reset-agent',
      './usr/share/doc/pci-reset-agent/copyright',
      './usr/share/doc/pci-reset-agent/changelog.gz',
    ]) {
      expect(contents, f).toContain(` ${f}\n`);
    }
  });

  it("carries the audit command's units (installed, not enabled) when the tree has them", () => {
    for (const u of ['pci-reset-agent-audit.service', 'pci-reset-agent-audit.timer', 'pci-reset-agent-audit.path']) {
      if (fs.existsSync(path.join(PROJECT, 'systemd', u))) expect(contents, u).toContain(` ./usr/lib/systemd/system/${u}\n`);
    }
    expect(contents).not.toMatch(/\.wants\//);
  });

  it('kdump.conf is a conffile with every setting commented out; Depends names node >= 20, squashfs-tools, kmod', () => {
    const ctl = path.join(tmpDir(), 'DEBIAN');
    spawnSync('dpkg-deb', ['-e', deb, ctl]);
    expect(fs.readFileSync(path.join(ctl, 'conffiles'), 'utf8')).toContain('/etc/pci-reset-agent/kdump.conf\n');
    const x = tmpDir();
    spawnSync('dpkg-deb', ['-x', deb, x]);
    const conf = fs.readFileSync(path.join(x, 'etc/pci-reset-agent/kdump.conf'), 'utf8');
    expect(conf.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))).toEqual([]);
    expect(info('Depends')).toMatch(/^nodejs \(>= 20\), squashfs-tools, kmod, libc6 \(>= 2\.\d+\)/);
    // The copyright names the project's licence (GPL-2, as LICENSE) and those of the bundled packages.
    const copyright = fs.readFileSync(path.join(x, 'usr/share/doc/pci-reset-agent/copyright'), 'utf8');
    expect(copyright).toMatch(/^License: GPL-2$/m);
    expect(copyright).toMatch(/commander/);
    expect(fs.readFileSync(path.join(PROJECT, 'LICENSE'), 'utf8')).toMatch(/GNU GENERAL PUBLIC LICENSE\s+Version 2/);
  });

  it("postinst rebuilds no initramfs: it only says which command does", () => {
    const ctl = path.join(tmpDir(), 'DEBIAN');
    spawnSync('dpkg-deb', ['-e', deb, ctl]);
    const postinst = fs.readFileSync(path.join(ctl, 'postinst'), 'utf8');
    const commands = postinst.split('\n').filter((l) => !/^\s*(#|echo |$)/.test(l));
    expect(commands.join('\n')).not.toMatch(/update-initramfs|mkinitramfs|dracut|kdump-config|kdumpctl|mkdumprd/);
    expect(postinst).toMatch(/kdump-config reload/);
    expect(postinst).toMatch(/kdumpctl rebuild/);
  });
});
