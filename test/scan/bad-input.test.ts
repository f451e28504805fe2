import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { scan } from '../../src/scan/scan.js';
import { deviceGetter, scanDir, scanTree } from '../helpers/open.js';
import { tmpDir } from '../helpers/tmp-root.js';

const rp: MockFunction = { bdf: '0000:00:01.0', vendor: 0x8086, device: 0x2030, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port' }, pm: {} };
const ep: MockFunction = { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, pm: {}, driver: 'e1000e', iommuGroup: 3 };

function written(fns: MockFunction[]): string {
  return new MockTree().addAll(fns).write(tmpDir());
}

function devDir(root: string, bdf: string): string {
  return fs.realpathSync(path.join(root, 'sys/bus/pci/devices', bdf));
}

describe('bad input becomes named problems, never an exception', () => {
  it('a config cut to 64 bytes (unprivileged read)', () => {
    const { dev } = scanTree(new MockTree().addAll([rp, { ...ep, configSize: 64 }]));
    const d = dev('0000:01:00.0');
    expect(d.problems).toContain('config truncated to 64 bytes');
    expect(d.vendor).toBe('8086');
    expect(d.capabilities).toEqual([]);
    expect(d.configSize).toBe(64);
  });

  it('a function reading all 0xFF falls back to the text attributes for its IDs', () => {
    const { dev } = scanTree(new MockTree().addAll([rp, { ...ep, patchConfig: (b) => b.fill(0xff) }]));
    const d = dev('0000:01:00.0');
    expect(d.problems).toContain('config reads all 0xFF (function not responding)');
    expect(d).toMatchObject({ vendor: '8086', device: '10d3', class: '020000', headerType: null, inferredResetMethods: [] });
  });

  it('a missing config file and missing attributes', () => {
    const root = written([rp, ep]);
    const dir = devDir(root, '0000:01:00.0');
    fs.rmSync(path.join(dir, 'config'));
    fs.rmSync(path.join(dir, 'class'));
    const d = deviceGetter(scanDir(root))('0000:01:00.0');
    expect(d.problems).toContain('config file missing');
    expect(d).toMatchObject({ vendor: '8086', device: '10d3', class: null, headerType: null });
  });

  it('a text attribute that is not a number', () => {
    const root = written([rp, ep]);
    const dir = devDir(root, '0000:01:00.0');
    fs.rmSync(path.join(dir, 'config'));
    fs.writeFileSync(path.join(dir, 'vendor'), 'garbage\n');
    const d = deviceGetter(scanDir(root))('0000:01:00.0');
    expect(d.vendor).toBeNull();
    expect(d.problems).toContain('vendor: not a hexadecimal number: "garbage"');
  });

  it('a dangling link and a name that is not a BDF are listing problems', () => {
    const root = written([rp, ep]);
    const list = path.join(root, 'sys/bus/pci/devices');
    fs.symlinkSync('../../../devices/pci0000:00/0000:00:09.0', path.join(list, '0000:00:09.0'));
    fs.mkdirSync(path.join(list, 'not-a-device'));
    const r = scanDir(root);
    expect(r.devices.map((d) => d.bdf)).toEqual(['0000:00:01.0', '0000:01:00.0']);
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('0000:00:09.0: link does not lead to a device directory'),
        expect.stringContaining('not-a-device: not a PCI address'),
      ]),
    );
  });

  it('a driver link that dangles, an iommu_group that is not a number', () => {
    const root = written([rp, ep]);
    const dir = devDir(root, '0000:01:00.0');
    fs.rmSync(path.join(dir, 'iommu_group'));
    fs.symlinkSync('../../../../kernel/iommu_groups/abc', path.join(dir, 'iommu_group'));
    const d = deviceGetter(scanDir(root))('0000:01:00.0');
    expect(d.iommuGroup).toBeNull();
    expect(d.problems).toContain('iommu_group link leads to "abc", not a group number');
    expect(d.driver).toBe('e1000e');
  });

  it('a function that vanishes between listing and reading', () => {
    const root = written([rp, ep]);
    const access = new SysfsAccess(new Root(root));
    const list = access.listFunctions.bind(access);
    access.listFunctions = () => {
      const entries = list();
      fs.rmSync(devDir(root, '0000:01:00.0'), { recursive: true });
      return entries;
    };
    const r = scan(access, root);
    const d = r.devices.find((x) => x.bdf === '0000:01:00.0')!;
    expect(d.problems[0]).toMatch(/^function vanished during scan \(directory: ENOENT\)/);
    expect(d.vendor).toBeNull();
  });

  it('a config file replaced by a directory', () => {
    const root = written([rp, ep]);
    const dir = devDir(root, '0000:01:00.0');
    fs.rmSync(path.join(dir, 'config'));
    fs.mkdirSync(path.join(dir, 'config'));
    const d = deviceGetter(scanDir(root))('0000:01:00.0');
    expect(d.problems.some((p) => p.startsWith('config: ') && p.includes('EISDIR'))).toBe(true);
  });

  it('a device directory nested under a non-bridge, and one outside its parent bus range', () => {
    const bad = written([
      rp,
      { ...ep, bdf: '0000:02:00.0' }, // nested under 00:01.0 but the bridge's range is 01-01
    ]);
    const d = deviceGetter(scanDir(bad))('0000:02:00.0');
    expect(d.parent).toBe('0000:00:01.0');
    expect(d.problems).toContain("bus 02 is outside parent 0000:00:01.0's bus range 01-01");
  });

  it('a flat tree (every function under the host bridge) is related by bus numbers, and says so', () => {
    const root = written([rp, { ...ep, parent: undefined }]);
    const d = deviceGetter(scanDir(root))('0000:01:00.0');
    expect(d.parent).toBe('0000:00:01.0');
    expect(d.problems[0]).toMatch(/directory places it on a root bus, but bridge 0000:00:01.0 has secondary bus 01/);
    expect(deviceGetter(scanDir(root))('0000:00:01.0').below).toEqual(['0000:01:00.0']);
  });

  it('a missing listing directory is one clear error', () => {
    const root = tmpDir();
    expect(() => scan(new SysfsAccess(new Root(root)), root)).toThrow(/sys\/bus\/pci\/devices: cannot list PCI functions: no such file or directory \(ENOENT\)/);
  });
});

describe('a listing that cannot be read is one error naming it', () => {
  // Regression (found by the long tree fuzz, FUZZ_SCALE=50): a link loop at sys/bus made the scan fail with
  // an error naming only sys/bus, not the listing it was trying to read.
  it('a link loop above sys/bus/pci/devices', () => {
    const dir = new MockTree().add({ bdf: '0000:00:00.0', vendor: 0x8086, device: 0x29c0, classCode: 0x060000 }).write(tmpDir());
    fs.rmSync(path.join(dir, 'sys/bus'), { recursive: true, force: true });
    fs.symlinkSync('bus', path.join(dir, 'sys/bus'));
    const root = new Root(dir);
    expect(() => scan(new SysfsAccess(root), dir)).toThrow(
      `${path.join(root.dir, 'sys/bus/pci/devices')}: cannot list PCI functions (at ${path.join(root.dir, 'sys/bus')}): too many levels of symbolic links (ELOOP)`,
    );
  });
});

