import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigWidth, PciAccess, PciFunctionEntry } from '../../src/access/access.js';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { laptopTree } from '../../src/mock/examples/laptop.js';
import { serverFunctions, serverTree } from '../../src/mock/examples/server.js';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { readFunction, type FunctionRecord } from '../../src/scan/read-function.js';
import { scan } from '../../src/scan/scan.js';
import { tmpDir } from '../helpers/tmp-root.js';

type Call = { op: 'listAttributes' | 'readLink' | 'readAttribute' | 'readConfig'; bdf: string; name?: string };

/** A SysfsAccess that records every read readFunction makes. */
class CountingAccess implements PciAccess {
  readonly name = 'counting';
  readonly calls: Call[] = [];
  constructor(readonly inner: SysfsAccess) {}
  listFunctions(): PciFunctionEntry[] {
    return this.inner.listFunctions();
  }
  listProblems(): string[] {
    return this.inner.listProblems();
  }
  readAttribute(bdf: string, name: string): string | null {
    this.calls.push({ op: 'readAttribute', bdf, name });
    return this.inner.readAttribute(bdf, name);
  }
  writeAttribute(): void {
    throw new Error('readFunction must not write');
  }
  readLink(bdf: string, name: string): string | null {
    this.calls.push({ op: 'readLink', bdf, name });
    return this.inner.readLink(bdf, name);
  }
  listAttributes(bdf: string): string[] {
    this.calls.push({ op: 'listAttributes', bdf });
    return this.inner.listAttributes(bdf);
  }
  readConfig(bdf: string): Uint8Array | null {
    this.calls.push({ op: 'readConfig', bdf });
    return this.inner.readConfig(bdf);
  }
  readConfigAt(bdf: string, offset: number, width: ConfigWidth): number {
    return this.inner.readConfigAt(bdf, offset, width);
  }
  writeConfigAt(): void {
    throw new Error('readFunction must not write');
  }
  count(op: Call['op'], bdf?: string): number {
    return this.calls.filter((c) => c.op === op && (bdf === undefined || c.bdf === bdf)).length;
  }
  reset(): void {
    this.calls.length = 0;
  }
}

function open(root: string): { access: CountingAccess; entries: Map<string, PciFunctionEntry> } {
  const access = new CountingAccess(new SysfsAccess(new Root(root)));
  const entries = new Map(access.listFunctions().map((e) => [e.bdf, e]));
  return { access, entries };
}

/** Read one function of a written tree, counting only that function's reads. */
function readOne(root: string, bdf: string): { rec: FunctionRecord; access: CountingAccess } {
  const { access, entries } = open(root);
  const entry = entries.get(bdf);
  if (!entry) throw new Error(`no ${bdf} in listing`);
  return { rec: readFunction(access, entry), access };
}

function devDir(root: string, bdf: string): string {
  return fs.realpathSync(path.join(root, 'sys/bus/pci/devices', bdf));
}

const rp: MockFunction = { bdf: '0000:00:01.0', vendor: 0x8086, device: 0x2030, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port' }, pm: {} };
const ep: MockFunction = { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, pm: {}, driver: 'e1000e', iommuGroup: 3 };

/** A PF with twelve VFs, so that virtfn10 and virtfn11 exist (text order would put them before virtfn2). */
function manyVfs(pfExtra: Partial<MockFunction> = {}): MockFunction[] {
  const pfRp: MockFunction = { ...rp, bdf: '0000:00:03.0', bridge: { secondaryBus: 7, subordinateBus: 7 } };
  const pf: MockFunction = {
    bdf: '0000:07:00.0', parent: '0000:00:03.0', vendor: 0x8086, device: 0x1572, classCode: 0x020000,
    pcie: { type: 'endpoint', flr: true }, pm: {}, msix: true, aer: true,
    sriov: { totalVfs: 64, numVfs: 12, vfDevice: 0x154c, offset: 0x10, stride: 1 }, driver: 'i40e', iommuGroup: 16, ...pfExtra,
  };
  const vfs = Array.from({ length: 12 }, (_, i): MockFunction => {
    const devfn = 0x10 + i;
    return {
      bdf: `0000:07:${(devfn >> 3).toString(16).padStart(2, '0')}.${devfn & 7}`, parent: '0000:00:03.0', physfn: '0000:07:00.0',
      vendor: 0x8086, device: 0x154c, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, driver: 'vfio-pci', iommuGroup: 40 + i,
    };
  });
  return [pfRp, pf, ...vfs];
}
const VF_BDFS = ['0000:07:02.0', '0000:07:02.1', '0000:07:02.2', '0000:07:02.3', '0000:07:02.4', '0000:07:02.5', '0000:07:02.6', '0000:07:02.7', '0000:07:03.0', '0000:07:03.1', '0000:07:03.2', '0000:07:03.3'];

describe('readFunction lists a function directory only when a name cannot be tried directly', () => {
  it('a plain endpoint with reset_method: no listing at all', () => {
    const root = serverTree().write(tmpDir());
    const { rec, access } = readOne(root, '0000:01:00.0');
    expect(access.count('listAttributes')).toBe(0);
    expect(access.count('readConfig')).toBe(1);
    expect(rec).toMatchObject({ resetFile: true, virtfns: [], physfn: null, driver: 'nvme', iommuGroup: 9, problems: [] });
    expect(rec.resetMethods).toEqual(fs.readFileSync(path.join(devDir(root, '0000:01:00.0'), 'reset_method'), 'utf8').trim().split(' '));
    // IDs came from config: no text attribute but reset_method was read.
    expect(access.calls.filter((c) => c.op === 'readAttribute').map((c) => c.name)).toEqual(['reset_method']);
  });

  it('no function of a tree without SR-IOV is listed when every one has reset_method', () => {
    const root = new MockTree().addAll([rp, ep]).write(tmpDir());
    const { access, entries } = open(root);
    for (const entry of entries.values()) {
      const rec = readFunction(access, entry);
      // A function the kernel gives no reset method has no reset_method: that one is listed, to look for `reset`.
      expect(access.count('listAttributes', entry.bdf), entry.bdf).toBe(rec.resetMethods === null ? 1 : 0);
    }
    expect(readFunction(access, entries.get('0000:01:00.0')!).resetMethods).not.toBeNull();
  });

  it('the server example SR-IOV PF: listed once, its VFs in virtfn order', () => {
    const root = serverTree().write(tmpDir());
    const { rec, access } = readOne(root, '0000:07:00.0');
    expect(access.count('listAttributes')).toBe(1);
    expect(rec.virtfns).toEqual(['0000:07:02.0', '0000:07:02.1', '0000:07:02.2', '0000:07:02.3']);
    expect(rec.resetFile).toBe(true);
    // Port 1 has the capability but no VFs enabled: listed, nothing found.
    const other = readOne(root, '0000:07:00.1');
    expect(other.access.count('listAttributes')).toBe(1);
    expect(other.rec.virtfns).toEqual([]);
  });

  it('virtfnN are ordered by number: virtfn10 comes after virtfn2', () => {
    const root = new MockTree().addAll(manyVfs()).write(tmpDir());
    const names = fs.readdirSync(devDir(root, '0000:07:00.0')).filter((n) => n.startsWith('virtfn'));
    expect(names).toHaveLength(12);
    const { rec, access } = readOne(root, '0000:07:00.0');
    expect(access.count('listAttributes')).toBe(1);
    expect(rec.virtfns).toEqual(VF_BDFS);
    expect(access.calls.filter((c) => c.op === 'readLink' && c.name!.startsWith('virtfn')).map((c) => c.name)).toEqual(
      Array.from({ length: 12 }, (_, i) => `virtfn${i}`),
    );
  });

  it('a VF names its PF and is not listed', () => {
    const root = serverTree().write(tmpDir());
    const { rec, access } = readOne(root, '0000:07:02.1');
    expect(rec.physfn).toBe('0000:07:00.0');
    expect(rec.virtfns).toEqual([]);
    expect(rec.vendor).toBe(0x8086);
    expect(rec.device).toBe(0x154c);
    expect(access.count('listAttributes')).toBe(0);
  });

  it('reset_method removed but reset kept (a kernel before 5.15): resetFile comes from the listing', () => {
    const root = serverTree().write(tmpDir());
    fs.rmSync(path.join(devDir(root, '0000:01:00.0'), 'reset_method'));
    const { rec, access } = readOne(root, '0000:01:00.0');
    expect(access.count('listAttributes')).toBe(1);
    expect(rec.resetFile).toBe(true);
    expect(rec.resetMethods).toBeNull();
    expect(rec.problems).toEqual([]);
  });

  it('neither reset_method nor reset: resetFile false', () => {
    const root = serverTree().write(tmpDir());
    const dir = devDir(root, '0000:01:00.0');
    fs.rmSync(path.join(dir, 'reset_method'));
    fs.rmSync(path.join(dir, 'reset'));
    const { rec, access } = readOne(root, '0000:01:00.0');
    expect(access.count('listAttributes')).toBe(1);
    expect(rec.resetFile).toBe(false);
    expect(rec.resetMethods).toBeNull();
    expect(rec.problems).toEqual([]);
  });

  it('a PF without reset_method is still listed only once (for reset and virtfnN together)', () => {
    const root = new MockTree().addAll(manyVfs({ resetMethod: null })).write(tmpDir());
    const { rec, access } = readOne(root, '0000:07:00.0');
    expect(access.count('listAttributes')).toBe(1);
    expect(rec.resetFile).toBe(false);
    expect(rec.virtfns).toEqual(VF_BDFS);
  });

  it('a missing config file: listed, said so, and the VF links are still looked for', () => {
    const root = new MockTree().addAll(manyVfs()).write(tmpDir());
    fs.rmSync(path.join(devDir(root, '0000:07:00.0'), 'config'));
    const { rec, access } = readOne(root, '0000:07:00.0');
    expect(access.count('listAttributes')).toBe(1);
    expect(rec.problems).toContain('config file missing');
    expect(rec.vendor).toBe(0x8086);
    expect(rec.virtfns).toEqual(VF_BDFS);
  });

  it('an unreadable config (a directory): the VF links are still looked for', () => {
    const root = new MockTree().addAll(manyVfs()).write(tmpDir());
    const dir = devDir(root, '0000:07:00.0');
    fs.rmSync(path.join(dir, 'config'));
    fs.mkdirSync(path.join(dir, 'config'));
    const { rec, access } = readOne(root, '0000:07:00.0');
    expect(access.count('listAttributes')).toBe(1);
    expect(rec.problems.some((p) => p.startsWith('config: ') && p.includes('EISDIR'))).toBe(true);
    expect(rec.virtfns).toEqual(VF_BDFS);
  });

  // A config cut to 64 bytes (any unprivileged read) or 256 (no extended config space: pci=nommconf,
  // no ECAM) cannot show the SR-IOV capability, so the listing must still be read for the VFs: the
  // planner's VF guards (guardVfs, rawFunctionRefusal) depend on them. (Found in review of 9f684ea.)
  for (const size of [64, 256]) {
    it(`a PF whose config reads only ${size} bytes still lists its VFs`, () => {
      const root = new MockTree().addAll(manyVfs({ configSize: size })).write(tmpDir());
      const { rec } = readOne(root, '0000:07:00.0');
      expect(rec.problems[0]).toMatch(new RegExp(`^config truncated to ${size} bytes`));
      expect(rec.virtfns).toEqual(VF_BDFS);
    });
  }

  it('a function vanished after the listing: the message, and nothing else is read', () => {
    const root = new MockTree().addAll([rp, ep]).write(tmpDir());
    const { access, entries } = open(root);
    fs.rmSync(devDir(root, '0000:01:00.0'), { recursive: true });
    const rec = readFunction(access, entries.get('0000:01:00.0')!);
    expect(rec.problems).toHaveLength(1);
    expect(rec.problems[0]).toMatch(/^function vanished during scan \(directory: ENOENT\)/);
    expect(access.calls).toEqual([
      { op: 'readConfig', bdf: '0000:01:00.0' },
      { op: 'listAttributes', bdf: '0000:01:00.0' },
    ]);
    expect(rec).toMatchObject({ vendor: null, device: null, driver: null, iommuGroup: null, resetMethods: null, resetFile: false, physfn: null, virtfns: [] });
  });
});

/** What the written tree says about one function, read with plain fs calls on its directory. */
function fromDisk(dir: string): Pick<FunctionRecord, 'resetFile' | 'virtfns' | 'physfn' | 'driver' | 'iommuGroup' | 'resetMethods'> {
  const has = (name: string): boolean => fs.existsSync(path.join(dir, name));
  const linkBase = (name: string): string | null => {
    try {
      return path.basename(fs.readlinkSync(path.join(dir, name)));
    } catch {
      return null;
    }
  };
  const group = linkBase('iommu_group');
  return {
    resetFile: has('reset'),
    virtfns: fs
      .readdirSync(dir)
      .filter((n) => /^virtfn\d+$/.test(n))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
      .map((n) => linkBase(n)!),
    physfn: linkBase('physfn'),
    driver: linkBase('driver'),
    iommuGroup: group === null ? null : Number(group),
    resetMethods: has('reset_method') ? fs.readFileSync(path.join(dir, 'reset_method'), 'utf8').trim().split(/\s+/).filter((s) => s !== '') : null,
  };
}

describe('readFunction agrees with the tree on disk, function by function', () => {
  const trees: [string, () => MockTree][] = [
    ['server', serverTree],
    ['laptop', laptopTree],
    ['server without reset_method (pre-5.15 kernel)', () => serverTree()],
    ['twelve VFs', () => new MockTree().addAll(manyVfs())],
  ];
  for (const [name, make] of trees) {
    it(name, () => {
      const root = make().write(tmpDir());
      if (name.includes('without reset_method')) {
        for (const bdf of fs.readdirSync(path.join(root, 'sys/bus/pci/devices'))) fs.rmSync(path.join(devDir(root, bdf), 'reset_method'), { force: true });
      }
      const result = scan(new SysfsAccess(new Root(root)), root);
      const listed = fs.readdirSync(path.join(root, 'sys/bus/pci/devices')).sort();
      expect(result.devices.map((d) => d.bdf).sort()).toEqual(listed);
      const { access, entries } = open(root);
      for (const bdf of listed) {
        const want = fromDisk(devDir(root, bdf));
        const rec = readFunction(access, entries.get(bdf)!);
        const got = { resetFile: rec.resetFile, virtfns: rec.virtfns, physfn: rec.physfn, driver: rec.driver, iommuGroup: rec.iommuGroup, resetMethods: rec.resetMethods };
        expect(got, bdf).toEqual(want);
        const dev = result.devices.find((d) => d.bdf === bdf)!;
        expect({ resetFile: dev.resetFile, virtfns: dev.virtfns, physfn: dev.physfn }, `scan ${bdf}`).toEqual({ resetFile: want.resetFile, virtfns: want.virtfns, physfn: want.physfn });
      }
    });
  }

  it('the examples do exercise every branch (VFs, a PF, functions without reset files)', () => {
    const root = serverTree().write(tmpDir());
    const disk = fs.readdirSync(path.join(root, 'sys/bus/pci/devices')).map((bdf) => fromDisk(devDir(root, bdf)));
    expect(disk.some((d) => d.virtfns.length > 0)).toBe(true);
    expect(disk.some((d) => d.physfn !== null)).toBe(true);
    expect(disk.some((d) => !d.resetFile)).toBe(true);
    expect(disk.some((d) => d.driver === null)).toBe(true);
    expect(serverFunctions().length).toBe(disk.length);
  });
});

describe('a PF keeps its VFs when its config no longer shows SR-IOV (review of 9f684ea)', () => {
  it('extended space reading zero: the VFs come from their physfn links, and the mismatch is a problem', () => {
    // A half-reset PF: 4 KiB of config, but nothing at 0x100, so the SR-IOV capability is not seen and
    // its directory is not listed. Its virtfnN links are still there; its VFs still name it.
    const root = new MockTree()
      .addAll(manyVfs({ patchConfig: (b: Uint8Array) => b.fill(0, 0x100) }))
      .write(tmpDir());
    const result = scan(new SysfsAccess(new Root(root)), root);
    const pf = result.devices.find((d) => d.bdf === '0000:07:00.0')!;
    expect([...pf.virtfns].sort()).toEqual([...VF_BDFS].sort());
    expect(pf.problems.filter((p) => p.includes('no virtfn link'))).toHaveLength(VF_BDFS.length);
    expect(pf.problems[pf.problems.length - 1]).toMatch(/^VF 0000:07:0[23]\.\d names this function as its PF, but it has no virtfn link to it \(config shows no SR-IOV capability\)$/);
  });

  it('a PF that lists its VFs gets no such problem', () => {
    const root = new MockTree().addAll(manyVfs()).write(tmpDir());
    const result = scan(new SysfsAccess(new Root(root)), root);
    const pf = result.devices.find((d) => d.bdf === '0000:07:00.0')!;
    expect(pf.virtfns).toEqual(VF_BDFS);
    expect(pf.problems).toEqual([]);
  });
});
