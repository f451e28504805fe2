import { afterAll, describe, expect, it } from 'vitest';
import type { MockFunction } from '../../src/mock/tree-builder.js';
import { assessScenario, cleanupRoots, dmesg, type Scenario } from './mock-roots.js';
import { iortTable } from './acpi-bytes.js';
import { parseIort } from '../../src/iommu/acpi/iort.js';
import { renderIommuReport } from '../../src/iommu/render-report.js';

afterAll(cleanupRoots);

/** QEMU `virt,iommu=smmuv3`: a PCIe host on segment 0 with a root port and an NVMe behind the SMMUv3 at 0x09050000. */
function virtFunctions(): MockFunction[] {
  return [
    { bdf: '0000:00:00.0', vendor: 0x1b36, device: 0x0008, classCode: 0x060000, iommuGroup: 0 },
    { bdf: '0000:00:01.0', vendor: 0x1b36, device: 0x000c, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port', linkSpeed: 1, dllla: true }, msi: true, driver: 'pcieport', iommuGroup: 1 },
    { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x1b36, device: 0x0010, classCode: 0x010802, pcie: { type: 'endpoint', flr: true }, msix: true, iommuGroup: 2 },
    { bdf: '0000:00:02.0', vendor: 0x1af4, device: 0x1000, classCode: 0x020000, iommuGroup: 3 },
  ];
}

const SMMU = 'smmu3.0x0000000009050000';
const be64 = (...v: bigint[]): Buffer => {
  const b = Buffer.alloc(8 * v.length);
  v.forEach((x, i) => b.writeBigUInt64BE(x, i * 8));
  return b;
};
const be32 = (...v: number[]): Buffer => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x, i * 4));
  return b;
};
const smmuRegs = (cr0: number, gbpa: number, strtab: bigint, gerror = 0) => [
  { base: 0x9050000n, values: { 0x0: [4, 0x0c0e0cbb], 0x20: [4, cr0], 0x44: [4, gbpa], 0x60: [4, gerror], 0x64: [4, 0], 0x80: [8, strtab], 0x88: [4, 0x10] } as Record<number, [4 | 8, bigint | number]> },
];

/** The device tree QEMU virt gives an arm64 capture kernel: the SMMU, the PCIe host's iommu-map, /chosen. */
const virtTree = (usable: [bigint, bigint] = [0xb0000000n, 0x10000000n]): Record<string, Uint8Array | string> => ({
  'compatible': 'linux,dummy-virt\0',
  'smmuv3@9050000/compatible': 'arm,smmu-v3\0',
  'smmuv3@9050000/reg': be64(0x9050000n, 0x20000n),
  'smmuv3@9050000/phandle': be32(0x8005),
  'smmuv3@9050000/dma-coherent': '',
  'pcie@10000000/compatible': 'pci-host-ecam-generic\0',
  'pcie@10000000/iommu-map': be32(0, 0x8005, 0, 0x10000),
  'chosen/linux,elfcorehdr': be64(0xbfe00000n, 0x10000n),
  'chosen/linux,usable-memory-range': be64(usable[0], usable[1]),
});

const armCapture: Scenario = {
  capture: true,
  procCmdline: 'console=ttyAMA0 reset_devices',
  functions: virtFunctions(),
  devicetree: virtTree(),
  sysfs: [{ name: SMMU, vendor: 'other', files: ['uevent'] }],
  kmsg: dmesg(
    'Booting Linux on physical CPU 0x0000000000 [0x000f0510]',
    'Linux version 6.1.0-57-arm64 (x)',
    'arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)',
    'arm-smmu-v3 9050000.smmuv3: SMMU currently enabled! Resetting...',
  ),
};

describe('IORT parsing', () => {
  it('SMMUv3 and SMMUv2 nodes, root-complex mappings to SMMU or ITS, RMR stream IDs', () => {
    const t = parseIort(
      iortTable([
        { kind: 'its' },
        { kind: 'smmuv3', base: 0x9050000, flags: 1 },
        { kind: 'smmu', base: 0x2b400000 },
        { kind: 'rc', segment: 0, maps: [{ inputBase: 0, count: 0x100, outputBase: 0x0, to: 1 }, { inputBase: 0x100, count: 0x100, outputBase: 0x100, to: 0 }] },
        { kind: 'rmr', ranges: [{ base: 0x80000000, length: 0x100000 }], maps: [{ inputBase: 0, count: 1, outputBase: 0x8, to: 1 }] },
      ]),
    );
    expect(t.problems).toEqual([]);
    expect(t.smmus.map((s) => [s.version, s.base, s.coherent])).toEqual([[3, '0x9050000', true], [2, '0x2b400000', false]]);
    expect(t.rootComplexes[0]!.mappings.map((m) => [m.inputBase, m.count, m.outputKind])).toEqual([[0, 0x100, 'smmuv3'], [0x100, 0x100, 'its']]);
    expect(t.rmrs[0]).toMatchObject({ ranges: [{ base: '0x80000000', length: '0x100000' }], streams: [{ first: 8, count: 1 }] });
    expect(t.itsGroups).toBe(1);
  });

  it('a node running past the table is a problem, the walk stops, the table is damaged', () => {
    const b = iortTable([{ kind: 'smmuv3' }]);
    b[48 + 1] = 0xff; // node length
    const t = parseIort(b);
    expect(t.damaged).toBe(true);
    expect(t.problems.join('\n')).toMatch(/node 0 at 0x30 has length 255 \(past the table's/);
  });
});

describe('ARM SMMUv3 verdict', () => {
  it('mainline capture kernel (DT): "SMMU currently enabled! Resetting...", fresh stream table → case 4, outcome aborted', async () => {
    const r = await assessScenario({ ...armCapture, mem: smmuRegs(0x0b, 0x1000, 0xb8000000n) });
    expect(r.captureKernel).toBe(true);
    expect(r.case).toBe('4');
    const u = r.units.find((x) => x.name === SMMU)!;
    expect(u).toMatchObject({ vendor: 'arm', registerBase: '0x9050000', translationEnabledBefore: true, translationEnabledNow: true, managedNow: true, oldTables: 'not-copied' });
    expect(u.smmu).toMatchObject({ outcome: 'aborted' });
    expect(u.registers!.values).toMatchObject({ CR0: '0x0000000b', GBPA: '0x00001000', STRTAB_BASE: '0xb8000000' });
    expect(u.notes!.join('\n')).toMatch(/event queue off/);
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')).toMatchObject({ unit: SMMU, case: '4' });
    expect(renderIommuReport(r)).toContain('SMMU aborted');
  });

  it('a stream table outside this kernel\'s memory: the crashed kernel\'s table was adopted (case 4, reused)', async () => {
    const r = await assessScenario({ ...armCapture, kmsg: dmesg('Linux version 6.1.0-57-arm64 (x)', 'arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)'), mem: smmuRegs(0x0f, 0x1000, 0x43fe0000n) });
    const u = r.units.find((x) => x.name === SMMU)!;
    expect(u.smmu).toMatchObject({ outcome: 'adopted' });
    expect(u.oldTables).toBe('reused');
    // The old table's base is positive evidence that translation was on before: case 4, not unknown.
    expect(u).toMatchObject({ translationEnabledBefore: true, translationEnabledNow: true });
    expect(u.basis.before).toMatch(/STRTAB_BASE=0x43fe0000 lies outside this kernel's memory/);
    expect(r.case).toBe('4');
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')).toMatchObject({ unit: SMMU, case: '4' });
  });

  it('the same old stream table on an SMMU in service-failure mode (GERROR.SFM_ERR active): not adopted, outcome unknown', async () => {
    const r = await assessScenario({ ...armCapture, kmsg: dmesg('Linux version 6.1.0-57-arm64 (x)', 'arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)'), mem: smmuRegs(0x0f, 0x1000, 0x43fe0000n, 0x100) });
    const u = r.units.find((x) => x.name === SMMU)!;
    expect(u.smmu).toMatchObject({ outcome: 'unknown' });
    expect(u.smmu!.basis).toMatch(/SFM_ERR is active/);
    expect(u.notes!.join('\n')).toMatch(/service-failure mode/);
    expect(u.oldTables).not.toBe('reused');
    // Still on before (the old base says so); the outcome names no mechanism we can vouch for.
    expect(r.case).toBe('4');
  });

  it('the driver runs the SMMU, the crashed kernel had it on, and neither a reset line nor registers say what became of it: outcome unknown', async () => {
    const r = await assessScenario({ ...armCapture, kmsg: dmesg('Linux version 6.1.0-57-arm64 (x)', 'arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)'), oldLog: dmesg('Linux version 6.1.0-57-arm64 (x)', 'arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)') });
    const u = r.units.find((x) => x.name === SMMU)!;
    expect(u.smmu).toMatchObject({ outcome: 'unknown' });
    expect(u.smmu!.basis).toMatch(/neither the reset message nor the stream table address/);
    expect(u.translationEnabledBefore).toBe(true);
  });

  it('no arm-smmu driver in the capture kernel, SMMUEN left set: 3a (untouched, old tables live)', async () => {
    const r = await assessScenario({ ...armCapture, sysfs: [], noGroups: true, kmsg: dmesg('Linux version 6.1.0-57-arm64 (x)'), mem: smmuRegs(0x0f, 0x1000, 0x43fe0000n) });
    expect(r.case).toBe('3a');
    expect(r.units[0]).toMatchObject({ managedNow: false, translationEnabledNow: true, translationEnabledBefore: true });
  });

  it('SMMUEN clear and GBPA.ABORT clear: stray DMA bypasses (3b, outcome bypass)', async () => {
    const r = await assessScenario({ ...armCapture, sysfs: [], noGroups: true, kmsg: dmesg('Linux version 6.1.0-57-arm64 (x)'), oldLog: dmesg('Linux version 6.1.0-57-arm64 (x)', 'arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)'), mem: smmuRegs(0, 0, 0x43fe0000n) });
    expect(r.case).toBe('3b');
    expect(r.units[0]!.smmu).toMatchObject({ outcome: 'bypass' });
  });

  it('SMMUEN clear but GBPA.ABORT set: every transaction aborted, not raw memory', async () => {
    const r = await assessScenario({ ...armCapture, sysfs: [], noGroups: true, kmsg: dmesg('Linux version 6.1.0-57-arm64 (x)'), oldLog: dmesg('Linux version 6.1.0-57-arm64 (x)', 'arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)'), mem: smmuRegs(0, 0x100000, 0x43fe0000n) });
    expect(r.units[0]!.translationEnabledNow).toBe(true);
    expect(r.units[0]!.basis.now).toMatch(/every transaction is aborted/);
    expect(r.case).toBe('3a');
  });

  it('iommu.passthrough=1 in the capture kernel: outcome bypass, devices flagged passthrough', async () => {
    const r = await assessScenario({ ...armCapture, procCmdline: 'console=ttyAMA0 reset_devices iommu.passthrough=1', groupType: 'identity', mem: smmuRegs(0x0b, 0x1000, 0xb8000000n) });
    expect(r.units[0]!.smmu).toMatchObject({ outcome: 'bypass' });
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')!.passthrough).toBe(true);
  });

  it('IORT (ACPI) machine: coverage by root-complex mappings; an RMR stream is left in bypass', async () => {
    const iort = iortTable([
      { kind: 'its' },
      { kind: 'smmuv3', base: 0x9050000, flags: 1 },
      { kind: 'rc', maps: [{ inputBase: 0, count: 0x10000, outputBase: 0, to: 1 }] },
      { kind: 'rmr', ranges: [{ base: 0x80000000, length: 0x100000 }], maps: [{ inputBase: 0, count: 1, outputBase: 0x100, to: 1 }] },
    ]);
    const r = await assessScenario({ ...armCapture, devicetree: { 'chosen/linux,elfcorehdr': be64(0xbfe00000n, 0x10000n) }, tables: { IORT: iort }, mem: smmuRegs(0x0b, 0x1000, 0xb8000000n) });
    expect(r.units.map((u) => u.name)).toEqual([SMMU]);
    expect(r.units[0]!.knownFrom).toEqual(['acpi:IORT', 'sysfs']);
    expect(r.units[0]!.smmu!.rmrStreams).toEqual([{ first: 0x100, count: 1 }]);
    // 01:00.0 has requester ID 0x100, the RMR's stream.
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')).toMatchObject({ unit: SMMU, passthrough: true });
    expect(r.devices.find((d) => d.bdf === '0000:00:02.0')).toMatchObject({ unit: SMMU });
  });
});
