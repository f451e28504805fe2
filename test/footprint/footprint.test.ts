import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { footprint, isAgentFile, renderFootprint } from '../../src/footprint/footprint.js';
import { parseListing } from '../../src/footprint/image-listing.js';
import { tmpDir } from '../helpers/tmp-root.js';

// Lines as Debian's `lsinitramfs -l` prints them (cpio -tv), from a kdump-tools image built in the e2e guest.
const LISTING = `drwxr-xr-x   2 root     root            0 Dec  3 18:40 usr/lib/pci-reset-agent
-rw-r--r--   1 root     root       830876 Dec  3 17:59 usr/lib/pci-reset-agent/pci-reset-agent.mjs
-rw-r--r--   1 root     root      1415528 Dec  3 17:59 usr/lib/pci-reset-agent/koffi.node
-rw-r--r--   1 root     root     27664384 Dec  3 18:40 usr/lib/pci-reset-agent/node.squashfs
-rwxr-xr-x   1 root     root         7411 Dec  3 18:40 usr/libexec/pci-reset-agent/pci-reset-agent-kdump
-rwxr-xr-x   1 root     root          980 Dec  3 18:40 scripts/init-top/pci-reset-agent
-rwxr-xr-x   1 root     root       399080 Dec  3 18:40 usr/bin/kmod
lrwxrwxrwx   1 root     root            4 Dec  3 18:40 usr/sbin/modprobe -> kmod
`;

function rootWith(opts: { cmdline: string; crashSize?: number; image?: boolean }) {
  const root = tmpDir();
  fs.mkdirSync(path.join(root, 'proc/sys/kernel'), { recursive: true });
  fs.writeFileSync(path.join(root, 'proc/cmdline'), `${opts.cmdline}\n`);
  fs.writeFileSync(path.join(root, 'proc/sys/kernel/osrelease'), '6.1.0-56-amd64\n');
  if (opts.crashSize !== undefined) {
    fs.mkdirSync(path.join(root, 'sys/kernel'), { recursive: true });
    fs.writeFileSync(path.join(root, 'sys/kernel/kexec_crash_size'), `${opts.crashSize}\n`);
  }
  fs.mkdirSync(path.join(root, 'usr/lib/pci-reset-agent'), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/lib/pci-reset-agent/pci-reset-agent.mjs'), 'x'.repeat(100_000));
  if (opts.image) {
    fs.mkdirSync(path.join(root, 'var/lib/kdump'), { recursive: true });
    fs.writeFileSync(path.join(root, 'var/lib/kdump/initrd.img-6.1.0-56-amd64'), 'image');
  }
  return root;
}

/** A stand-in `lsinitramfs` on PATH that prints LISTING (the real one runs in the e2e). */
function withLister<T>(fn: () => T): T {
  const bin = tmpDir();
  fs.writeFileSync(path.join(bin, 'lsinitramfs'), `#!/bin/sh\ncat <<'LIST'\n${LISTING}LIST\n`, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  try {
    return fn();
  } finally {
    process.env.PATH = saved;
  }
}

describe('footprint', () => {
  it('parses ls -l style listings: regular files only', () => {
    const e = parseListing(LISTING);
    expect(e.map((x) => x.path)).toContain('usr/lib/pci-reset-agent/node.squashfs');
    expect(e.find((x) => x.path === 'usr/sbin/modprobe')).toBeUndefined();
  });

  it("reads kdump-tools' image for the running kernel: the agent's files, node in squashfs, 256M reserved is ok", () => {
    const root = rootWith({ cmdline: 'root=/dev/vda crashkernel=256M', crashSize: 256 * 1024 * 1024, image: true });
    const f = withLister(() => footprint({ root }));
    expect(f.source).toBe('image');
    expect(f.files.map((x) => x.path)).toEqual([
      'usr/lib/pci-reset-agent/pci-reset-agent.mjs',
      'usr/lib/pci-reset-agent/koffi.node',
      'usr/lib/pci-reset-agent/node.squashfs',
      'usr/libexec/pci-reset-agent/pci-reset-agent-kdump',
      'scripts/init-top/pci-reset-agent',
    ]);
    expect(f.unpackedBytes).toBe(830876 + 1415528 + 27664384 + 7411 + 980);
    // No host copy of node.squashfs to read the compressor from: the default, zstd, and its larger need.
    expect(f.node).toBe('squashfs-zstd');
    expect(f.measured?.worksMiB).toBe(176);
    expect(f.reserved).toEqual({ cmdline: 'crashkernel=256M', bytes: 256 * 1024 * 1024 });
    expect(f.verdict).toBe('ok');
    const text = renderFootprint(f);
    expect(text).toMatch(/crashkernel= measured to work: 176M \(168M failed/);
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80);
  });

  it('too small a reservation is said so', () => {
    const root = rootWith({ cmdline: 'crashkernel=128M', crashSize: 128 * 1024 * 1024, image: true });
    expect(withLister(() => footprint({ root })).verdict).toBe('too-small');
  });

  it('no image: counts the files the hook would add, says so; no crashkernel= is "none-reserved"', () => {
    const root = rootWith({ cmdline: 'root=/dev/vda', crashSize: 0 });
    const f = footprint({ root });
    expect(f.source).toBe('files');
    expect(f.files.map((x) => x.path)).toEqual(['usr/lib/pci-reset-agent/pci-reset-agent.mjs']);
    expect(f.notes.join('\n')).toMatch(/no kdump image found/);
    expect(f.verdict).toBe('none-reserved');
  });
});

describe('footprint under --root never reads through a link out of the root', () => {
  it('proc/cmdline, kexec_crash_size and the installed bundle that are links to host files are not followed out', () => {
    const outside = tmpDir();
    fs.writeFileSync(path.join(outside, 'cmdline'), 'crashkernel=999M\n');
    fs.writeFileSync(path.join(outside, 'size'), `${999 * 1024 * 1024}\n`);
    fs.writeFileSync(path.join(outside, 'bundle.mjs'), 'y'.repeat(300_000));
    const root = rootWith({ cmdline: 'root=/dev/vda' });
    fs.rmSync(path.join(root, 'proc/cmdline'));
    fs.symlinkSync(path.join(outside, 'cmdline'), path.join(root, 'proc/cmdline'));
    fs.mkdirSync(path.join(root, 'sys/kernel'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'size'), path.join(root, 'sys/kernel/kexec_crash_size'));
    fs.rmSync(path.join(root, 'usr/lib/pci-reset-agent/pci-reset-agent.mjs'));
    fs.symlinkSync(path.join(outside, 'bundle.mjs'), path.join(root, 'usr/lib/pci-reset-agent/pci-reset-agent.mjs'));
    const f = footprint({ root });
    // An absolute link is resolved inside the root (where nothing is), as the kernel's RESOLVE_IN_ROOT does.
    expect(f.reserved.cmdline).toBeNull();
    expect(f.reserved.bytes).toBeNull();
    expect(f.files.map((x) => x.path)).not.toContain('usr/lib/pci-reset-agent/pci-reset-agent.mjs');
  });
});

// The real listing of a kdump image dracut 059 squashed (kdump-utils' mkdumprd adds `--add squash` whenever
// mksquashfs is installed): the agent's files are only in lsinitrd's "Squashed content (squash-root.img)"
// part, as `unsquashfs -ll` lines (dracut 059 lsinitrd.sh list_squash_content()).
const SQUASHED = fs.readFileSync(path.join(__dirname, '../fixtures/footprint/dracut-059-squashed-lsinitrd.txt'), 'utf8');
const SQUASHED_AGENT = [
  { path: 'etc/pci-reset-agent/kdump.conf', bytes: 545 },
  { path: 'etc/pci-reset-agent/quirks.d/README', bytes: 321 },
  { path: 'usr/lib/pci-reset-agent/koffi.node', bytes: 1248568 },
  { path: 'usr/lib/pci-reset-agent/node.squashfs', bytes: 30244864 },
  { path: 'usr/lib/pci-reset-agent/pci-reset-agent.mjs', bytes: 1115102 },
  { path: 'usr/lib/systemd/system/pci-reset-agent.service', bytes: 1048 },
  { path: 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump', bytes: 9175 },
];

describe('footprint of a kdump image dracut squashed (real lsinitrd listing, e2e/debian/dracut/)', () => {
  it("parses the cpio part and the squashed part: the agent's files only from squash-root.img", () => {
    const e = parseListing(SQUASHED);
    const half = SQUASHED.indexOf('Squashed content (squash-root.img):');
    expect(half).toBeGreaterThan(0);
    const outer = parseListing(SQUASHED.slice(0, half));
    expect(outer.find((x) => x.path === 'squash-root.img')?.bytes).toBe(43270144);
    expect(outer.filter((x) => isAgentFile(x.path))).toEqual([]);
    expect(e.filter((x) => isAgentFile(x.path))).toEqual(SQUASHED_AGENT);
    // Character devices ("5,  1" in the size column) and the symlink sysinit.target.wants/… are not files.
    expect(e.find((x) => x.path === 'dev/console')).toBeUndefined();
    expect(e.find((x) => x.path.includes('sysinit.target.wants'))).toBeUndefined();
    expect(e.find((x) => x.path === 'usr/lib/modules/6.1.0-50-amd64/kernel/fs/overlayfs/overlay.ko')?.bytes).toBe(354569);
  });

  it("reads mkdumprd's image for the running kernel with lsinitrd and counts the squashed agent", () => {
    const root = rootWith({ cmdline: 'root=/dev/vda crashkernel=256M', crashSize: 256 * 1024 * 1024 });
    fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
    fs.writeFileSync(path.join(root, 'boot/initramfs-6.1.0-56-amd64kdump.img'), 'image');
    const bin = tmpDir();
    // No initramfs-tools here (dracut replaces it): lsinitramfs fails, lsinitrd prints the real listing.
    fs.writeFileSync(path.join(bin, 'lsinitramfs'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'lsinitrd'), `#!/bin/sh\ncat <<'LIST'\n${SQUASHED}LIST\n`, { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${bin}:${saved}`;
    let f;
    try {
      f = footprint({ root });
    } finally {
      process.env.PATH = saved;
    }
    expect(f.source).toBe('image');
    expect(f.image?.lister).toBe('lsinitrd');
    expect(f.files).toEqual(SQUASHED_AGENT);
    expect(f.node).not.toBe('missing');
    expect(f.unpackedBytes).toBe(SQUASHED_AGENT.reduce((n, x) => n + x.bytes, 0));
    expect(f.verdict).toBe('ok');
  });
});
