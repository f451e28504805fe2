import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MODULE_DIR, PROJECT, have } from './paths.js';
import { tmpDir } from '../helpers/tmp-root.js';

/**
 * Runs systemd/dracut/95pci-reset-agent/module-setup.sh the way dracut does (check, then installkernel and
 * install), through the helper shim the e2e image builder uses, into a scratch initdir. A stand-in "node"
 * (/usr/bin/true: links only glibc) keeps the squashfs step to a fraction of a second.
 */
function runModule(opts: { inKdump: boolean; systemd?: boolean; squash?: 'yes' | 'no' | 'fallback' | boolean; libdir?: string; path?: string }) {
  const work = tmpDir();
  const initdir = path.join(work, 'initrd');
  const libdir = opts.libdir ?? path.join(work, 'lib');
  if (!opts.libdir) {
    fs.mkdirSync(libdir);
    fs.writeFileSync(path.join(libdir, 'pci-reset-agent.mjs'), '// bundle stand-in\n');
    fs.writeFileSync(path.join(libdir, 'koffi.node'), 'stand-in');
  }
  const script = `
    set -euo pipefail
    export initdir=${JSON.stringify(initdir)} moddir=${JSON.stringify(MODULE_DIR)} KDIR=/nonexistent KVER=0
    . ${JSON.stringify(path.join(PROJECT, 'e2e/lib/dracut-shim.sh'))}
    instmods() { echo "instmods $*" >> ${JSON.stringify(path.join(work, 'calls'))}; }
    . "$moddir/module-setup.sh"
    rc=0; check || rc=$?
    echo "check=$rc"
    [ "$rc" = 0 ] || [ "$rc" = 255 ] || exit 0
    # dracut 059's order and rule: install()'s status is ignored, installkernel() failing stops the build.
    install || :
    installkernel || { echo "build failed"; exit 1; }
  `;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PCI_RESET_AGENT_LIBDIR: libdir,
    PCI_RESET_AGENT_NODE: '/usr/bin/true',
    PCI_RESET_AGENT_SQUASH: opts.squash === false ? 'no' : opts.squash === undefined || opts.squash === true ? 'yes' : opts.squash,
    ...(opts.path !== undefined ? { PATH: opts.path } : {}),
    PCI_RESET_AGENT_SQUASH_COMP: 'gzip',
    PRA_SHIM_SYSTEMD: opts.systemd ? 'yes' : 'no',
    PRA_SHIM_MANIFEST: path.join(work, 'manifest'),
  };
  delete env.IN_KDUMP;
  if (opts.inKdump) env.IN_KDUMP = '1';
  const r = spawnSync('bash', ['-c', script], { env, encoding: 'utf8' });
  const files = fs.existsSync(initdir)
    ? (fs.readdirSync(initdir, { recursive: true }) as string[]).map((f) => `/${f}`).filter((f) => !fs.statSync(path.join(initdir, f)).isDirectory() || fs.lstatSync(path.join(initdir, f)).isSymbolicLink())
    : [];
  const calls = fs.existsSync(path.join(work, 'calls')) ? fs.readFileSync(path.join(work, 'calls'), 'utf8') : '';
  return { ...r, check: Number(/check=(\d+)/.exec(r.stdout)?.[1] ?? -1), files, initdir, calls };
}

describe('dracut module 95pci-reset-agent', () => {
  it('check(): only in kdump images (IN_KDUMP), elsewhere only when asked for by name (255)', () => {
    expect(runModule({ inKdump: true }).check).toBe(0);
    expect(runModule({ inKdump: false }).check).toBe(255);
  });

  it('check(): refuses when the bundle is not installed', () => {
    const r = runModule({ inKdump: true, libdir: tmpDir() });
    expect(r.check).toBe(1);
    expect(r.stderr).toMatch(/pci-reset-agent\.mjs missing/);
  });

  describe.skipIf(!have('mksquashfs'))('install() (skipped: mksquashfs not installed)', () => {
    it('non-systemd image: bundle, node image, runner, pre-udev hook, loop+squashfs modules; no unit', () => {
      const r = runModule({ inKdump: true });
      expect(r.status, r.stderr).toBe(0);
      expect(r.files).toEqual(
        expect.arrayContaining([
          '/usr/lib/pci-reset-agent/pci-reset-agent.mjs',
          '/usr/lib/pci-reset-agent/koffi.node',
          '/usr/lib/pci-reset-agent/node.squashfs',
          '/usr/libexec/pci-reset-agent/pci-reset-agent-kdump',
          '/lib/dracut/hooks/pre-udev/40-pci-reset-agent-pre-udev.sh',
        ]),
      );
      expect(r.files.filter((f) => f.includes('systemd'))).toEqual([]);
      expect(r.files).not.toContain('/usr/bin/node');
      expect(r.calls).toMatch(/instmods loop squashfs/);
      expect(fs.statSync(path.join(r.initdir, 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump')).mode & 0o111).not.toBe(0);
      // The image is a real squashfs holding bin/node.
      const list = spawnSync('unsquashfs', ['-l', path.join(r.initdir, 'usr/lib/pci-reset-agent/node.squashfs')], { encoding: 'utf8' });
      expect(list.stdout).toMatch(/squashfs-root\/bin\/node/);
    });

    it('systemd image: the unit, wanted by sysinit.target; no pre-udev hook (never both)', () => {
      const r = runModule({ inKdump: true, systemd: true });
      expect(r.status, r.stderr).toBe(0);
      expect(r.files).toContain('/usr/lib/systemd/system/pci-reset-agent.service');
      const want = path.join(r.initdir, 'usr/lib/systemd/system/sysinit.target.wants/pci-reset-agent.service');
      expect(fs.readlinkSync(want)).toBe('../pci-reset-agent.service');
      expect(r.files.filter((f) => f.includes('/hooks/'))).toEqual([]);
    });
  });

  it('PCI_RESET_AGENT_SQUASH=no: node installed as a plain binary', () => {
    const r = runModule({ inKdump: true, squash: false });
    expect(r.status, r.stderr).toBe(0);
    expect(r.files).toContain('/usr/bin/node');
    expect(r.files).not.toContain('/usr/lib/pci-reset-agent/node.squashfs');
  });

  it('PCI_RESET_AGENT_SQUASH=no warns with the measured crashkernel a plain node needs', () => {
    const r = runModule({ inKdump: true, squash: false });
    expect(r.stderr).toMatch(/uncompressed .*crashkernel=320M or more/);
  });

  describe('no mksquashfs on the host (a PATH without it)', () => {
    // A PATH of links to everything the module and the shim call, except mksquashfs.
    function pathWithoutMksquashfs(): string {
      const bin = tmpDir();
      for (const tool of ['bash', 'sh', 'ldd', 'awk', 'strip', 'cp', 'chmod', 'mkdir', 'rm', 'install', 'readlink', 'mktemp', 'cat', 'ln', 'dirname', 'sed', 'grep', 'true', 'mount', 'umount', 'timeout', 'modprobe', 'tail']) {
        const p = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        if (p) fs.symlinkSync(p, path.join(bin, tool));
      }
      return bin;
    }

    it('fails the image build, saying why and what a plain node would need', () => {
      const r = runModule({ inKdump: true, path: pathWithoutMksquashfs() });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(/build failed/);
      expect(r.stderr).toMatch(/mksquashfs not found \(install squashfs-tools\)\. Node uncompressed would need crashkernel=320M/);
      expect(r.files).not.toContain('/usr/bin/node');
    });

    it('PCI_RESET_AGENT_SQUASH=fallback: a plain node, loudly, with the crashkernel it now needs', () => {
      const r = runModule({ inKdump: true, squash: 'fallback', path: pathWithoutMksquashfs() });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/mksquashfs not found.*UNCOMPRESSED, the capture kernel now needs crashkernel=320M/);
      expect(r.files).toContain('/usr/bin/node');
    });
  });

  it('the runner is inert outside a capture kernel and always exits 0', () => {
    // Safe on the host: with no /proc/vmcore it stops before touching anything (no /run, no node), and its
    // one log line goes to stderr (PRA_KMSG points nowhere) instead of the host's /dev/kmsg.
    if (fs.existsSync('/proc/vmcore')) return;
    const r = spawnSync('sh', [path.join(MODULE_DIR, 'pci-reset-agent-kdump.sh')], { encoding: 'utf8', env: { ...process.env, PRA_CONF: '/nonexistent', PRA_KMSG: '/nonexistent/kmsg' } });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/not a capture kernel \(no \/proc\/vmcore\)/);
  });
});
