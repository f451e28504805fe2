import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/audit/image/image-error.js';
import { summariseImageBytes } from '../../../src/audit/image/image-summary.js';
import { parseUnsquashListing, readSquashMember } from '../../../src/audit/image/squash-member.js';
import { newcArchive, withParents } from '../../../src/mock/kdump-image.js';
import { parseListing } from '../../../src/footprint/image-listing.js';
import { tmpDir } from '../../helpers/tmp-root.js';

const KVER = '6.12.0-55.el10.x86_64';

/** A kdump image's root as dracut assembles it before squashing (agent, modules, module tables). */
function rootTree(): string {
  const dir = tmpDir();
  const put = (rel: string, data: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  put('usr/lib/pci-reset-agent/pci-reset-agent.mjs', "program.name('pci-reset-agent').version('0.1.0');\n");
  put('usr/lib/pci-reset-agent/node.squashfs', Buffer.alloc(4096, 1));
  put('usr/lib/systemd/system/pci-reset-agent.service', '[Unit]\n');
  put(`usr/lib/modules/${KVER}/modules.alias`, 'alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n');
  put(`usr/lib/modules/${KVER}/modules.builtin`, 'kernel/drivers/nvme/host/nvme.ko\n');
  put(`usr/lib/modules/${KVER}/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz`, Buffer.alloc(2000, 7));
  fs.symlinkSync('usr/lib', path.join(dir, 'lib'));
  return dir;
}

/** The real mksquashfs, with the options dracut 059 uses for squash-root.img. */
function squash(dir: string): Buffer {
  const img = path.join(tmpDir(), 'root.img');
  execFileSync('mksquashfs', [dir, img, '-no-xattrs', '-no-exports', '-noappend', '-no-recovery', '-always-use-fragments', '-no-progress'], { stdio: 'ignore' });
  return fs.readFileSync(img);
}

/** A squashed kdump image: dracut's loader files in the cpio, everything else in the member. */
function squashedImage(member: string, data: Buffer): Uint8Array {
  return newcArchive(withParents([{ name: 'init', data: '#!/bin/sh\n', mode: 0o755 }, { name: 'squash/init.sh', data: '#!/bin/sh\n' }, { name: member, data }]));
}

describe('a kdump image whose root dracut squashed (kdump-utils does whenever mksquashfs is installed)', () => {
  const img = squash(rootTree());

  it.each(['squash-root.img', 'squash/squashfs-root.img'])('%s: the agent, its version and the modules inside are found', async (member) => {
    const s = await summariseImageBytes(squashedImage(member, img), 'initramfs-kdump.img');
    expect(s.agent.bundle).toBe('usr/lib/pci-reset-agent/pci-reset-agent.mjs');
    expect(s.agent.version).toBe('0.1.0');
    expect(s.agent.node).toBe('squashfs');
    expect(s.agent.files).toContain('usr/lib/systemd/system/pci-reset-agent.service');
    expect(s.kernelVersions).toEqual([KVER]);
    expect([...s.modules.keys()]).toEqual(['e1000e']);
    expect(s.tables).toEqual(['modules.alias', 'modules.builtin']);
    expect(s.builtin.has('nvme')).toBe(true);
  });

  it('a wanted file over the cap is refused from the listing, before anything is extracted', () => {
    const want = (e: { name: string }) => e.name.endsWith('modules.alias');
    expect(() => readSquashMember('squash-root.img', img, 'img', want, 10)).toThrow(/img: squash-root\.img: usr\/lib\/modules\/.*\/modules\.alias is 50 bytes, more than the 10 read of one file/);
    expect(readSquashMember('squash-root.img', img, 'img', want, 1000).files.size).toBe(1);
  });

  it('an erofs root (squash-erofs) is an error naming it, not "the agent is missing"', async () => {
    await expect(summariseImageBytes(squashedImage('squash/erofs-root.img', Buffer.alloc(4096)), 'initramfs-kdump.img')).rejects.toThrow(/initramfs-kdump\.img: squash\/erofs-root\.img: .*erofs/);
  });

  it('a member that is not a squashfs is an error naming the member', async () => {
    const err = await summariseImageBytes(squashedImage('squash-root.img', Buffer.alloc(8192, 0x41)), 'img').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(String(err)).toMatch(/img: squash-root\.img: unsquashfs exited/);
  });

  it('without unsquashfs on the host: an error that names the package, not a missing agent', async () => {
    const saved = process.env.PATH;
    process.env.PATH = tmpDir();
    try {
      await expect(summariseImageBytes(squashedImage('squash-root.img', img), 'img')).rejects.toThrow(/img: squash-root\.img: .*unsquashfs is not installed \(package squashfs-tools\)/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it("footprint reads lsinitrd's \"Squashed content\" section (real unsquashfs -ll output)", () => {
    const file = path.join(tmpDir(), 'root.img');
    fs.writeFileSync(file, img);
    const ll = execFileSync('unsquashfs', ['-ll', file], { encoding: 'utf8' });
    // lsinitrd 059 list_squash_content(): a heading, a rule, `unsquashfs -ll … | tail -n +4` (a header
    // some versions print; 4.5.1 prints none and the first entries go), a rule.
    const tail4 = ll.split('\n').slice(3).join('\n');
    const listing = `-rw-r--r--   1 root     root     31457280 Dec  4 11:00 squash-root.img\n\nSquashed content (squash-root.img):\n${'='.repeat(72)}\n${tail4}\n${'='.repeat(72)}\n`;
    const files = parseListing(listing).map((e) => e.path);
    expect(files).toContain('usr/lib/pci-reset-agent/pci-reset-agent.mjs');
    expect(files).toContain('usr/lib/pci-reset-agent/node.squashfs');
    expect(files).not.toContain('lib');
    expect(parseListing(listing).find((e) => e.path === 'usr/lib/pci-reset-agent/node.squashfs')!.bytes).toBe(4096);
    expect(parseUnsquashListing(ll).find((e) => e.name === 'lib')).toMatchObject({ kind: 'symlink' });
  });
});
