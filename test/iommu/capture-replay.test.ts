import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { capture } from '../../src/capture/capture.js';
import { scan } from '../../src/scan/scan.js';
import { assessIommu } from '../../src/iommu/assess.js';
import { cleanupRoots, dmesg, q35Functions, writeScenario } from './mock-roots.js';
import { qemuQ35Dmar } from './acpi-bytes.js';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'iommu-capture-'));
afterAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
  cleanupRoots();
});

describe('capture keeps what the IOMMU verdict reads', () => {
  it('a captured capture kernel gives the same case from the snapshot', async () => {
    const regset = 'IOMMU: dmar0 Register Base Address: fed90000\nGSTS            \t0x1c\t\t0x00000000c7000000\n';
    const { dir } = writeScenario({
      capture: true,
      cmdline: 'intel_iommu=on',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000', devices: q35Functions().map((f) => f.bdf) }],
      kmsg: dmesg('Linux version 6.1.0-56-amd64 (x)', 'DMAR: Translation already enabled - trying to copy translation structures', 'DMAR: Copied translation tables from previous kernel for dmar0', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
      regset,
    });
    const src = new Root(dir);
    const snap = path.join(out, 'snap');
    capture(src, new SysfsAccess(src), snap);
    for (const rel of ['proc/sys/kernel/osrelease', 'sys/kernel/debug/iommu/intel/iommu_regset', 'dev/kmsg', 'sys/firmware/acpi/tables/DMAR']) {
      expect(fs.existsSync(path.join(snap, rel)), rel).toBe(true);
    }
    const root = new Root(snap);
    const a = await assessIommu(src, scan(new SysfsAccess(src), dir));
    const b = await assessIommu(root, scan(new SysfsAccess(root), snap));
    expect(b.case).toBe('4');
    expect(b.units).toEqual(a.units);
    expect(b.units[0]!.registers?.source).toBe('debugfs');
  });
});
