import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MODULE_DIR, PROJECT, have } from './paths.js';
import { tmpDir } from '../helpers/tmp-root.js';

const HOOK = path.join(PROJECT, 'systemd/initramfs-tools/hooks/pci-reset-agent');
const INIT_TOP = path.join(PROJECT, 'systemd/initramfs-tools/scripts/init-top/pci-reset-agent');

/**
 * A stand-in for initramfs-tools' hook-functions (copy_file, copy_exec, manual_add_modules), with the same
 * argument and return conventions (copy_file: 0 copied, 1 already there). The real mkinitramfs runs the hook
 * in the Debian e2e guest (kdump-tools builds the image there); this checks the hook's own decisions.
 */
const STAND_IN = `
copy_file() { t=\${3:-$2}; case "$t" in */) t="$t\${2##*/}";; esac; [ -e "$DESTDIR$t" ] && return 1; mkdir -p "$(dirname "$DESTDIR$t")"; cp -L "$2" "$DESTDIR$t"; }
copy_exec() { copy_file binary "$1" "\${2:-$1}" || [ $? -eq 1 ]; }
manual_add_modules() { echo "modules $*" >> "$DESTDIR/../calls"; }
`;

function runHook(opts: { confdir: string; kdumpConf?: boolean; squash?: string; node?: string; path?: string }) {
  const work = tmpDir();
  const dest = path.join(work, 'image');
  fs.mkdirSync(dest);
  const lib = path.join(work, 'lib');
  fs.mkdirSync(lib);
  fs.writeFileSync(path.join(lib, 'pci-reset-agent.mjs'), '// bundle stand-in\n');
  fs.writeFileSync(path.join(lib, 'koffi.node'), 'stand-in');
  fs.writeFileSync(path.join(work, 'hook-functions'), STAND_IN);
  const confdir = path.join(work, 'conf');
  fs.mkdirSync(confdir);
  if (opts.kdumpConf) fs.writeFileSync(path.join(confdir, 'initramfs.conf'), 'MODULES=dep\nKDUMP=y\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DESTDIR: dest,
    CONFDIR: opts.confdir === 'tmp' ? confdir : opts.confdir,
    PCI_RESET_AGENT_HOOK_FUNCTIONS: path.join(work, 'hook-functions'),
    PCI_RESET_AGENT_LIBDIR: lib,
    PCI_RESET_AGENT_ETCDIR: path.join(work, 'etc'),
    PCI_RESET_AGENT_RUNNER: path.join(MODULE_DIR, 'pci-reset-agent-kdump.sh'),
    // A stand-in "node" linking glibc only keeps the squashfs step fast.
    PCI_RESET_AGENT_NODE: opts.node ?? '/usr/bin/true',
    PCI_RESET_AGENT_SQUASH: opts.squash ?? 'yes',
    PCI_RESET_AGENT_SQUASH_COMP: 'gzip',
    ...(opts.path !== undefined ? { PATH: opts.path } : {}),
  };
  delete env.PCI_RESET_AGENT_INITRAMFS;
  const r = spawnSync('sh', [HOOK], { env, encoding: 'utf8' });
  const files = (fs.readdirSync(dest, { recursive: true }) as string[]).map((f) => `/${f}`).filter((f) => fs.statSync(path.join(dest, f)).isFile());
  const calls = fs.existsSync(path.join(work, 'calls')) ? fs.readFileSync(path.join(work, 'calls'), 'utf8') : '';
  return { ...r, files, dest, calls };
}

describe('initramfs-tools hook (kdump-tools images)', () => {
  it('prereqs: none', () => {
    const r = spawnSync('sh', [HOOK, 'prereqs'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('');
  });

  it('adds nothing to an ordinary image (CONFDIR /etc/initramfs-tools, no KDUMP=y)', () => {
    const r = runHook({ confdir: '/etc/initramfs-tools' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.files).toEqual([]);
  });

  describe.skipIf(!have('mksquashfs'))('kdump-tools image (skipped: mksquashfs not installed)', () => {
    it("keyed on kdump-tools' CONFDIR: bundle, node image, runner, tools, loop+squashfs", () => {
      const r = runHook({ confdir: '/var/lib/kdump/initramfs-tools' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.files).toEqual(
        expect.arrayContaining([
          '/usr/lib/pci-reset-agent/pci-reset-agent.mjs',
          '/usr/lib/pci-reset-agent/koffi.node',
          '/usr/lib/pci-reset-agent/node.squashfs',
          '/usr/libexec/pci-reset-agent/pci-reset-agent-kdump',
        ]),
      );
      expect(r.files).not.toContain('/usr/bin/node');
      expect(fs.readFileSync(path.join(r.dest, 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump'), 'utf8')).toBe(
        fs.readFileSync(path.join(MODULE_DIR, 'pci-reset-agent-kdump.sh'), 'utf8'),
      );
      expect(r.calls).toMatch(/modules loop squashfs/);
    });

    it("keyed on KDUMP=y in the build's initramfs.conf (Ubuntu marks it the same way)", () => {
      const r = runHook({ confdir: 'tmp', kdumpConf: true });
      expect(r.status, r.stderr).toBe(0);
      expect(r.files).toContain('/usr/lib/pci-reset-agent/node.squashfs');
    });
  });

  it('no mksquashfs: fails the image build saying why; fallback installs node plainly, loudly', () => {
    const bin = tmpDir();
    for (const tool of ['sh', 'ldd', 'awk', 'strip', 'cp', 'chmod', 'mkdir', 'rm', 'mktemp', 'cat', 'dirname', 'grep', 'true', 'mount', 'umount', 'timeout']) {
      const p = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (p) fs.symlinkSync(p, path.join(bin, tool));
    }
    const failed = runHook({ confdir: '/var/lib/kdump/initramfs-tools', path: bin });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/E: pci-reset-agent: mksquashfs not found \(install squashfs-tools\)\. Node uncompressed would need crashkernel=320M/);
    const fallback = runHook({ confdir: '/var/lib/kdump/initramfs-tools', path: bin, squash: 'fallback' });
    expect(fallback.status, fallback.stderr).toBe(0);
    expect(fallback.stderr).toMatch(/UNCOMPRESSED, the capture kernel now needs crashkernel=320M/);
    expect(fallback.files).toContain('/usr/bin/node');
  });

  it("refuses Debian's split nodejs (libnode.so), which cannot run from the image", () => {
    const work = tmpDir();
    // A "node" whose ldd output names libnode: a script ldd reports as not dynamic would not do, so the
    // check is exercised through PATH's ldd replaced by one that prints what Debian's node links.
    fs.writeFileSync(path.join(work, 'ldd'), '#!/bin/sh\necho "\tlibnode.so.108 => /usr/lib/x86_64-linux-gnu/libnode.so.108 (0x0)"\n', { mode: 0o755 });
    const r = runHook({ confdir: '/var/lib/kdump/initramfs-tools', path: `${work}:${process.env.PATH}` });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/links libnode\.so \(Debian's split nodejs\)/);
  });

  it('the init-top script does nothing where the hook added no runner', () => {
    const r = spawnSync('sh', [INIT_TOP], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
  });

  it("tsort (mkinitramfs' ordering) puts init-top/pci-reset-agent before udev's init-top script", () => {
    // cache_run_scripts (initramfs-tools hook-functions): `get_prereq_pairs | tsort`, one "x x" pair for a
    // script without prerequisites. Debian bookworm's init-top scripts (initramfs-tools, udev, kdump-tools' none).
    const names = ['all_generic_ide', 'blacklist', 'keymap', 'udev', 'pci-reset-agent'];
    const r = spawnSync('tsort', { input: names.map((n) => `${n} ${n}\n`).join(''), encoding: 'utf8' });
    const order = r.stdout.trim().split('\n');
    expect(order.indexOf('pci-reset-agent')).toBeLessThan(order.indexOf('udev'));
  });
});
