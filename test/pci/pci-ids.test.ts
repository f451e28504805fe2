import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { loadPciIds } from '../../src/pci/pci-ids.js';
import { runBuilt, PROJECT } from '../helpers/run-built.js';
import { tmpDir } from '../helpers/tmp-root.js';

/** A tree view as one line per record: the continuation lines (tree drawing, then text) joined back. */
const flat = (text: string): string => text.replace(/\n[│ ]+(?=[^│ ├└\[])/g, ' ');

/** test/fixtures/pci.ids: an excerpt of Debian 12's pci.ids (its first lines say so). */
const FIXTURE = path.join(PROJECT, 'test/fixtures/pci.ids');

/** examples/kdump-vm copied with the fixture at one of the places pciutils reads it from. */
function rootWithIds(rel: string | null): string {
  const dir = tmpDir();
  fs.cpSync(path.join(PROJECT, 'examples/kdump-vm'), dir, { recursive: true, verbatimSymlinks: true });
  if (rel) {
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    const text = fs.readFileSync(FIXTURE);
    fs.writeFileSync(path.join(dir, rel), rel.endsWith('.gz') ? zlib.gzipSync(text) : text);
  }
  return dir;
}

describe('device names from pci.ids (issue 15.11)', () => {
  it('reads vendor and device names of the vendors asked for; subsystems and classes are not devices', () => {
    const names = loadPciIds(new Root(rootWithIds('usr/share/misc/pci.ids')), [0x8086, 0x1af4])!;
    expect(names.source).toBe('usr/share/misc/pci.ids');
    expect(names.vendor(0x1af4)).toBe('Red Hat, Inc.');
    expect(names.device(0x1af4, 0x1042)).toBe('Virtio 1.0 block device');
    expect(names.device(0x8086, 0x29c0)).toBe('82G33/G31/P35/P31 Express DRAM Controller');
    // 1b36 was not asked for; 1af4:1100 is a subsystem line, not a device.
    expect(names.vendor(0x1b36)).toBeNull();
    expect(names.device(0x1af4, 0x1100)).toBeNull();
  });

  for (const rel of ['usr/share/hwdata/pci.ids', 'usr/share/misc/pci.ids.gz']) {
    it(`is found at ${rel} too`, () => {
      expect(loadPciIds(new Root(rootWithIds(rel)), [0x1af4])?.device(0x1af4, 0x1041)).toBe('Virtio 1.0 network device');
    });
  }

  it('scan and plan name devices as lspci does; -n shows numbers only; without pci.ids, class names', () => {
    const root = rootWithIds('usr/share/misc/pci.ids');
    const scan = runBuilt(['scan', '--root', root]);
    expect(scan.code, scan.stderr).toBe(0);
    expect(flat(scan.stdout)).toContain('0000:02:00.0 1b36:0010 NVMe controller: Red Hat, Inc. QEMU NVM Express Controller endpoint');
    const plan = runBuilt(['plan', '--root', root]);
    expect(flat(plan.stdout)).toContain('0000:07:00.0 1af4:1041 Ethernet controller: Red Hat, Inc. Virtio 1.0 network device');
    const numeric = runBuilt(['scan', '--root', root, '-n']);
    expect(numeric.stdout).toContain('0000:02:00.0 1b36:0010 [0108] endpoint  reset: flr,pm,bus');
    expect(numeric.stdout).not.toContain('Red Hat');
    const none = runBuilt(['scan', '--root', rootWithIds(null)]);
    expect(none.stdout).toContain('0000:02:00.0 1b36:0010 NVMe controller endpoint  reset: flr,pm,bus');
  });

  it('a pci.ids that is not a regular file is ignored, never waited on', () => {
    const root = rootWithIds(null);
    fs.mkdirSync(path.join(root, 'usr/share/misc'), { recursive: true });
    fs.mkdirSync(path.join(root, 'usr/share/misc/pci.ids'));
    expect(loadPciIds(new Root(root), [0x8086])).toBeNull();
  });
});
