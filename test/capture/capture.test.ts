import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { capture } from '../../src/capture/capture.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { laptopTree } from '../../src/mock/examples/laptop.js';
import { generatedTree } from '../../src/mock/examples/generated.js';
import type { MockTree } from '../../src/mock/tree-builder.js';
import { scanDir } from '../helpers/open.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';

function roundTrip(tree: MockTree): { src: string; out: string } {
  const src = tree.write(tmpDir());
  const out = path.join(tmpDir(), 'capture');
  const root = new Root(src);
  capture(root, new SysfsAccess(root), out);
  return { src, out };
}

function withoutRoot(dir: string): string {
  const r = scanDir(dir);
  return JSON.stringify({ ...r, root: '' });
}

describe('capture: scan reads the snapshot back identically', () => {
  it.each([
    ['server', serverTree()],
    ['laptop', laptopTree()],
    ['generated:600', generatedTree(600)],
  ])('%s', (_name, tree) => {
    const { src, out } = roundTrip(tree);
    expect(withoutRoot(out)).toBe(withoutRoot(src));
  });

  it('keeps machine files, IOMMU class entries and groups, and the vmcore marker', () => {
    const tree = serverTree()
      .file('sys/firmware/acpi/tables/DMAR', new Uint8Array([0x44, 0x4d, 0x41, 0x52, 1, 2, 3]))
      .file('sys/devices/virtual/iommu/dmar0/intel-iommu/cap', 'd2008c22260286\n')
      .file('sys/devices/virtual/iommu/dmar0/intel-iommu/address', 'fed90000\n')
      .link('sys/class/iommu/dmar0', '../../devices/virtual/iommu/dmar0')
      .file('proc/vmcore', 'x'.repeat(100));
    const { out } = roundTrip(tree);
    expect(fs.readFileSync(path.join(out, 'proc/cmdline'), 'utf8')).toContain('intel_iommu=on');
    expect([...fs.readFileSync(path.join(out, 'sys/firmware/acpi/tables/DMAR'))]).toEqual([0x44, 0x4d, 0x41, 0x52, 1, 2, 3]);
    const root = new Root(out);
    expect(root.readText('sys/class/iommu/dmar0/intel-iommu/cap')).toBe('d2008c22260286\n');
    expect(root.readLink('sys/class/iommu/dmar0')).toBe('sys/devices/virtual/iommu/dmar0');
    expect(root.readText('sys/kernel/iommu_groups/9/type')).toBe('DMA\n');
    expect(root.readLink('sys/kernel/iommu_groups/9/devices/0000:01:00.0')).toBe('sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0');
    expect(fs.statSync(path.join(out, 'proc/vmcore')).size).toBe(0);
    // Every link in the snapshot is relative, so the tree can be moved and lspci can read it.
    const links: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isSymbolicLink()) links.push(fs.readlinkSync(p));
        else if (e.isDirectory()) walk(p);
      }
    };
    walk(out);
    expect(links.length).toBeGreaterThan(50);
    expect(links.filter((l) => path.isAbsolute(l))).toEqual([]);
  });

  it('refuses a non-empty output directory and one inside the captured tree', () => {
    const src = serverTree().write(tmpDir());
    const root = new Root(src);
    const busy = tmpDir();
    fs.writeFileSync(path.join(busy, 'x'), '');
    expect(() => capture(root, new SysfsAccess(root), busy)).toThrow(/exists and is not empty/);
    expect(() => capture(root, new SysfsAccess(root), path.join(src, 'sys/snap'))).toThrow(/must not lie inside/);
  });

  it('never reads or writes outside: links out of the source root are followed inside it, every file lands under --out', () => {
    const outside = tmpDir('pra-outside-');
    fs.writeFileSync(path.join(outside, 'cmdline'), 'CANARY outside the root\n');
    fs.writeFileSync(path.join(outside, 'vendor'), '0xdead\n');
    const src = serverTree().write(tmpDir());
    fs.rmSync(path.join(src, 'proc/cmdline'));
    fs.symlinkSync(path.join(outside, 'cmdline'), path.join(src, 'proc/cmdline'));
    const fn = fs.realpathSync(path.join(src, 'sys/bus/pci/devices/0000:00:1f.0'));
    fs.rmSync(path.join(fn, 'vendor'));
    fs.symlinkSync(`${'../'.repeat(30)}${outside.slice(1)}/vendor`, path.join(fn, 'vendor'));
    fs.symlinkSync(outside, path.join(src, 'sys/firmware-link'));
    const parent = tmpDir();
    const out = path.join(parent, 'capture');
    const root = new Root(src);
    capture(root, new SysfsAccess(root), out);
    expect(fs.readdirSync(outside).sort()).toEqual(['cmdline', 'vendor']);
    expect(fs.readdirSync(parent)).toEqual(['capture']);
    // Every file of the snapshot is under --out, every link resolves under it, no byte of the canary is in it.
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isSymbolicLink()) {
          const t = path.resolve(path.dirname(p), fs.readlinkSync(p));
          expect(t.startsWith(`${out}/`), `${p} -> ${t}`).toBe(true);
        } else if (e.isDirectory()) walk(p);
        else expect(fs.readFileSync(p, 'latin1'), p).not.toMatch(/CANARY|0xdead/);
      }
    };
    walk(out);
  });
});

describe('capture --out that cannot be a directory (issue 11, item 18)', () => {
  it('--out under /proc: one named error, no endless mkdir loop', async () => {
    const src = serverTree().write(tmpDir());
    const { code, stderr } = await runCli(['capture', '--root', src, '--out', '/proc/pra-nope/deeper']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--out \/proc\/pra-nope\/deeper: cannot create \/proc\/pra-nope: .*\(ENOENT\)/);
  });

  it('--out naming a file: one named error, not an internal one', async () => {
    const src = serverTree().write(tmpDir());
    const file = path.join(tmpDir(), 'afile');
    fs.writeFileSync(file, 'x');
    const { code, stderr } = await runCli(['capture', '--root', src, '--out', file]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`--out ${file}: exists and is not a directory`);
    expect(stderr).not.toMatch(/internal error/);
    const below = path.join(file, 'sub');
    const r2 = await runCli(['capture', '--root', src, '--out', below]);
    expect(r2.stderr).toContain(`--out ${below}: a component of the path is not a directory (ENOTDIR)`);
  });
});
