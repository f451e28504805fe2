import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { ACPI_TABLES_LISTING, capture } from '../../src/capture/capture.js';
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

  it('a machine without an IOMMU: the snapshot keeps the ACPI tables directory, so the replay still proves absence (case 1)', async () => {
    // The real no-iommu capture kernel (QEMU q35 without intel-iommu): APIC and other tables, no DMAR/IVRS.
    const { dir } = writeScenario({
      capture: true,
      cmdline: '',
      tables: {},
      kmsg: dmesg('Linux version 6.1.0-57-amd64 (x)', 'iommu: Default domain type: Translated'),
    });
    const src = new Root(dir);
    const live = await assessIommu(src, scan(new SysfsAccess(src), dir));
    expect(live.case).toBe('1');
    const snap = path.join(out, 'snap-no-iommu');
    capture(src, new SysfsAccess(src), snap);
    // Only the IOMMU tables are copied, so the directory holds no table: the listing keeps it (git keeps no
    // empty directory) and names what the machine had.
    expect(fs.readdirSync(path.join(snap, 'sys/firmware/acpi/tables'))).toEqual(['.pra-capture-listing']);
    expect(fs.readFileSync(path.join(snap, ACPI_TABLES_LISTING), 'utf8')).toBe('APIC\n');
    const root = new Root(snap);
    const replay = await assessIommu(root, scan(new SysfsAccess(root), snap));
    expect(replay.case, JSON.stringify(replay.missing)).toBe('1');
    expect(replay.evidence.map((e) => e.fact).join('\n')).toMatch(/this machine has no IOMMU/);
  });
});
