import { afterAll, describe, expect, it } from 'vitest';
import { assessScenario, cleanupRoots, dmesg, q35AmdFunctions, q35Functions, AMD_CONTROL, VTD_GSTS, VTD_RTADDR, type Scenario } from './mock-roots.js';
import { qemuQ35Dmar, qemuQ35Ivrs, dmarTable, drhd, deviceScope, SCOPE, ivrsTable, ivhd, ivhdEntry, devid, breakChecksum } from './acpi-bytes.js';
import { renderIommuReport } from '../../src/iommu/render-report.js';
import { unwrap } from '../helpers/unwrap.js';

afterAll(cleanupRoots);

const DMAR0 = { name: 'dmar0', vendor: 'intel' as const, address: 'fed90000', devices: q35Functions().map((f) => f.bdf) };

/** The capture kernel's log of the QEMU kdump run (REPORT.md §4). */
const QEMU_CAPTURE_KMSG = dmesg(
  'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2',
  'Command line: console=ttyS0 reset_devices irqpoll nr_cpus=1 intel_iommu=on iomem=relaxed panic=5 qmode=capture acpi_rsdp=0xf59c0 elfcorehdr=1654132K', // = QEMU_CAPTURE_CMDLINE
  'DMAR: IOMMU enabled',
  'DMAR: Host address width 39',
  'DMAR: DRHD base: 0x000000fed90000 flags: 0x1',
  'DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a',
  'DMAR-IR: Copied IR table for dmar0 from previous kernel',
  'DMAR-IR: Enabled IRQ remapping in x2apic mode',
  'DMAR: Translation already enabled - trying to copy translation structures',
  'DMAR: Copied translation tables from previous kernel for dmar0',
  'DMAR: Intel(R) Virtualization Technology for Directed I/O',
);

/** The first kernel's log in the same run: VT-d on. */
const QEMU_FIRST_KERNEL_LOG = dmesg(
  'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2',
  'Command line: console=ttyS0 intel_iommu=on iomem=relaxed panic=5 qmode=kdump crashkernel=384M',
  'DMAR: IOMMU enabled',
  'DMAR: DRHD base: 0x000000fed90000 flags: 0x1',
  'DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a',
  'DMAR-IR: Enabled IRQ remapping in x2apic mode',
  'DMAR: Intel(R) Virtualization Technology for Directed I/O',
  'DMAR: [DMA Read NO_PASID] Request device [02:00.0] fault addr 0x7f000 [fault reason 0x06] PTE Read access is not set',
);

/** A first kernel that never enabled VT-d (Debian default: CONFIG_INTEL_IOMMU_DEFAULT_ON unset). */
const OFF_FIRST_KERNEL_LOG = dmesg(
  'Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org)',
  'Command line: BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 root=/dev/vda1 ro crashkernel=384M',
  'DMAR: Host address width 39',
  'DMAR: DRHD base: 0x000000fed90000 flags: 0x1',
  'DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a',
  'DMAR-IR: Enabled IRQ remapping in x2apic mode',
);

/** The capture kernel of that machine: no intel_iommu=on either, so the driver never runs. */
const OFF_CAPTURE_LOG = dmesg(
  'Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org)',
  'DMAR: Host address width 39',
  'DMAR: DRHD base: 0x000000fed90000 flags: 0x1',
  'DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a',
);

const qemuMem = (gsts: number, rtaddr: bigint = 0x7ffe000n) => [{ base: 0xfed90000n, values: { 0x0: [4, 0x10], 0x08: [8, 0xd2008c22260286n], 0x10: [8, 0xf00f4an], [VTD_GSTS]: [4, gsts], [VTD_RTADDR]: [8, rtaddr] } as Record<number, [4 | 8, bigint | number]> }];

const QEMU_CAPTURE_CMDLINE = 'console=ttyS0 reset_devices irqpoll nr_cpus=1 intel_iommu=on iomem=relaxed panic=5 qmode=capture acpi_rsdp=0xf59c0 elfcorehdr=1654132K';

const case4: Scenario = {
  capture: true,
  cmdline: 'reset_devices irqpoll nr_cpus=1 intel_iommu=on iomem=relaxed panic=5',
  procCmdline: QEMU_CAPTURE_CMDLINE,
  tables: { DMAR: qemuQ35Dmar() },
  sysfs: [DMAR0],
  kmsg: QEMU_CAPTURE_KMSG,
  oldLog: QEMU_FIRST_KERNEL_LOG,
  mem: qemuMem(0xc7000000),
};

describe('iommu verdict on mock roots', () => {
  it('case 4: QEMU q35 kdump, tables copied, GSTS 0xC7000000 (TES on)', async () => {
    const r = await assessScenario(case4);
    expect(r.captureKernel).toBe(true);
    expect(r.case).toBe('4');
    expect(r.missing).toEqual([]);
    expect(r.units).toHaveLength(1);
    expect(r.units[0]).toMatchObject({
      name: 'dmar0', vendor: 'intel', registerBase: '0xfed90000', translationEnabledNow: true, translationEnabledBefore: true, tablesCopied: true, managedNow: true, case: '4', segment: 0, includesAll: false, irqRemapNow: true,
    });
    expect(r.units[0]!.registers).toEqual({ source: 'mmio:dev/mem', values: { VER: '0x10', CAP: '0xd2008c22260286', ECAP: '0xf00f4a', GSTS: '0xc7000000', RTADDR: '0x7ffe000' } });
    expect(r.units[0]!.basis.now).toMatch(/^measured mmio:dmar0: GSTS=0xc7000000 \(TES=1, IRES=1, RTPS=1\)/);
    expect(r.evidence).toContainEqual({ source: 'proc/vmcore', fact: 'present: the old kernel\'s memory is exposed, this is a capture kernel' });
    expect(r.evidence).toContainEqual({ source: 'kmsg', fact: 'DMAR: Copied translation tables from previous kernel for dmar0' });
    expect(r.evidence).toContainEqual({ source: 'acpi:DMAR', fact: 'host address width 39, flags INTR_REMAP; 1 DRHD: 0xfed90000 segment 0' });
    const nvme = r.devices.find((d) => d.bdf === '0000:02:00.0')!;
    expect(nvme).toMatchObject({ unit: 'dmar0', faults: 1, faultsBefore: 1, faultsNow: 0, tablesCopied: true, case: '4', iommuGroup: 7 });
    expect(r.devices.every((d) => d.unit === 'dmar0')).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.conflicts).toEqual([]);
    expect(r.options).toEqual({ now: ['intel_iommu=on'], before: ['intel_iommu=on'] });
    expect(r.acpi.dmar).toMatchObject({ checksumValid: true, hostAddressWidth: 39, flags: ['INTR_REMAP'], drhds: [{ registerBase: '0xfed90000', includePciAll: false }] });
    expect(r.acpi.dmar!.drhds[0]!.scopes).toEqual(['ioapic id 0 bus ff path 00.0', 'endpoint bus 00 path 00.0', 'bridge bus 00 path 01.0', 'bridge bus 00 path 02.0', 'bridge bus 00 path 03.0', 'bridge bus 00 path 04.0', 'endpoint bus 00 path 1f.0', 'endpoint bus 00 path 1f.2', 'endpoint bus 00 path 1f.3']);
    const text = renderIommuReport(r);
    expect(text).toContain('capture kernel: yes (/proc/vmcore, elfcorehdr=)');
    expect(unwrap(text)).toContain('dmar0 @ fed90000: translation ON (GSTS.TES, copied tables from previous kernel, on in the crashed kernel) → case 4');
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('case 4 without registers: the copy message and the driver state decide', async () => {
    const r = await assessScenario({ ...case4, mem: undefined }, { readRegisters: false });
    expect(r.case).toBe('4');
    expect(r.units[0]!.basis.now).toMatch(/^logged kmsg: "Copied translation tables/);
    expect(r.sources.registers).toBeNull();
  });

  it('case 1: neither kernel enabled VT-d (registers read 0, both logs complete)', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'reset_devices irqpoll nr_cpus=1',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [],
      noGroups: true,
      kmsg: OFF_CAPTURE_LOG,
      oldLog: OFF_FIRST_KERNEL_LOG,
      mem: qemuMem(0x02000000, 0n),
    });
    expect(r.case).toBe('1');
    expect(r.units[0]).toMatchObject({ translationEnabledNow: false, translationEnabledBefore: false, tablesCopied: false, managedNow: false, case: '1' });
    expect(r.units[0]!.basis.before).toMatch(/^measured mmio:dmar0: RTADDR=0 and GSTS.RTPS=0/);
  });

  it('principle: the old log\'s silence alone never makes case 1 (RTADDR left set, so not measured)', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'reset_devices irqpoll nr_cpus=1',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [],
      noGroups: true,
      kmsg: OFF_CAPTURE_LOG,
      oldLog: OFF_FIRST_KERNEL_LOG,
      mem: qemuMem(0x02000000, 0x7ffe000n),
    });
    expect(r.case).toBe('unknown');
    expect(r.units[0]!.translationEnabledBefore).toBe(false);
    expect(r.missing.join('\n')).toMatch(/only the absence of a message says translation was off .*absence lowers confidence, it never proves "off"/);
  });

  it('case 1: a machine without any IOMMU', async () => {
    const r = await assessScenario({ capture: true, tables: {}, sysfs: [], noGroups: true, kmsg: dmesg('Linux version 6.1.0 (x)') });
    expect(r.case).toBe('1');
    expect(r.units).toEqual([]);
    expect(r.evidence).toContainEqual({ source: 'acpi', fact: 'no DMAR, IVRS or VIOT table or IORT, and no unit in /sys/class/iommu: this machine has no IOMMU' });
    expect(r.devices.every((d) => d.case === '1' && d.unit === null)).toBe(true);
  });

  it('case 2: off in the crashed kernel, on in the capture kernel', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'reset_devices intel_iommu=on',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [DMAR0],
      kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: IOMMU enabled', 'DMAR: DRHD base: 0x000000fed90000 flags: 0x1', 'DMAR: Intel(R) Virtualization Technology for Directed I/O', 'DMAR: DRHD: handling fault status reg 2', 'DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0xfffd0000 [fault reason 0x05] PTE Write access is not set', 'DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0xfffd1000 [fault reason 0x05] PTE Write access is not set'),
      oldLog: OFF_FIRST_KERNEL_LOG,
      mem: qemuMem(0xc7000000),
    });
    expect(r.case).toBe('2');
    expect(r.units[0]).toMatchObject({ translationEnabledNow: true, translationEnabledBefore: false, tablesCopied: false, case: '2' });
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')).toMatchObject({ faultsNow: 2, faults: 2, case: '2' });
    expect(renderIommuReport(r)).toContain('DMA faults: 0000:01:00.0 ×2');
  });

  it('case 2 from the capture kernel\'s log alone: driver ran, no "Translation already enabled"', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'intel_iommu=on',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [DMAR0],
      kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: IOMMU enabled', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
    });
    expect(r.case).toBe('2');
    expect(r.units[0]!.basis.before).toMatch(/^logged kmsg: the driver initialised dmar0 \(log complete from boot\) without "Translation already enabled"/);
  });

  it('case 3a: translation left on, the capture kernel has no VT-d driver running', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'reset_devices',
      osrelease: '4.4.0-210-generic',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [],
      noGroups: true,
      kmsg: dmesg('Linux version 4.4.0-210-generic (x)', 'DMAR: Host address width 39'),
      oldLog: QEMU_FIRST_KERNEL_LOG,
      mem: qemuMem(0xc0000000),
    });
    expect(r.case).toBe('3a');
    expect(r.units[0]).toMatchObject({ translationEnabledNow: true, translationEnabledBefore: true, managedNow: false, case: '3a' });
    expect(r.units[0]!.basis.managed).toMatch(/not in \/sys\/class\/iommu/);
    expect(unwrap(renderIommuReport(r))).toContain("not run by this kernel's driver) → case 3a");
  });

  it('case 3b: intel_iommu=off in the capture kernel switched translation off (GSTS 0, RTADDR still set)', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'reset_devices intel_iommu=off',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [],
      noGroups: true,
      kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: IOMMU disabled', 'DMAR: DRHD base: 0x000000fed90000 flags: 0x1', 'DMAR-IR: Copied IR table for dmar0 from previous kernel'),
      oldLog: QEMU_FIRST_KERNEL_LOG,
      mem: qemuMem(0x02000000, 0x7ffe000n),
    });
    expect(r.case).toBe('3b');
    expect(r.units[0]).toMatchObject({ translationEnabledNow: false, translationEnabledBefore: true, tablesCopied: false, managedNow: false, case: '3b' });
    expect(r.units[0]!.basis.before).toMatch(/^logged old-log: the crashed kernel initialised VT-d DMA remapping/);
    expect(r.evidence.some((e) => /RTADDR=0x7ffe000: a root table was set — not by this kernel's driver/.test(e.fact))).toBe(true);
  });

  it('case 3b without registers: intel_iommu=off on a 6.x kernel switches units off', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'intel_iommu=off',
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [],
      kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: IOMMU disabled'),
      oldLog: QEMU_FIRST_KERNEL_LOG,
    });
    expect(r.case).toBe('3b');
    expect(r.units[0]!.basis.now).toMatch(/^inferred proc\/cmdline: intel_iommu=off: intel_iommu_init\(\) calls intel_disable_iommus\(\)/);
  });

  it('3b needs the old log: without it the case is unknown, and says what is missing', async () => {
    const r = await assessScenario({ capture: true, cmdline: 'intel_iommu=off', tables: { DMAR: qemuQ35Dmar() }, sysfs: [], kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: IOMMU disabled'), mem: qemuMem(0) });
    expect(r.case).toBe('unknown');
    expect(r.missing.join('\n')).toMatch(/dmar0: whether the crashed kernel had translation on/);
    expect(r.evidence).toContainEqual({ source: 'old-log', fact: 'not read: vmcore-dmesg runs only with --root / (use --old-log FILE)' });
  });

  it('case 4 on AMD: QEMU amd-iommu IVRS, reused device table, IommuEn set', async () => {
    const r = await assessScenario({
      capture: true,
      cmdline: 'reset_devices',
      osrelease: '6.18.2',
      functions: q35AmdFunctions(),
      tables: { IVRS: qemuQ35Ivrs() },
      sysfs: [{ name: 'ivhd0', vendor: 'amd' }],
      kmsg: dmesg('Linux version 6.18.2 (x)', 'AMD-Vi: Translation is already enabled - trying to reuse translation structures', 'AMD-Vi: Reused DEV table from previous kernel.', 'pci 0000:00:05.0: AMD-Vi: Found IOMMU cap 0x40', 'iommu ivhd0: AMD-Vi: Event logged [ILLEGAL_DEV_TABLE_ENTRY device=0000:01:00.0 pasid=0x00000 address=0xfffffffdf8000000 flags=0x0a00]'),
      mem: [{ base: 0xfed80000n, values: { 0x0: [8, 0x1f0000fffn], [AMD_CONTROL]: [8, 0x18c11dn], 0x30: [8, 0x246577efa2254afan] } }],
    });
    expect(r.case).toBe('4');
    expect(r.units[0]).toMatchObject({ name: 'ivhd0', vendor: 'amd', registerBase: '0xfed80000', pciFunction: '0000:00:05.0', translationEnabledNow: true, translationEnabledBefore: true, tablesCopied: true, case: '4' });
    expect(r.units[0]!.basis.now).toMatch(/measured mmio:ivhd0: control register=0x18c11d \(IommuEn=1\)/);
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')).toMatchObject({ unit: 'ivhd0', faultsNow: 1 });
    expect(r.devices.find((d) => d.bdf === '0000:04:01.0')).toMatchObject({ unit: 'ivhd0' });
    // The IOMMU never translates its own requests.
    expect(r.devices.find((d) => d.bdf === '0000:00:05.0')).toMatchObject({ unit: null });
    expect(unwrap(renderIommuReport(r))).toContain('ivhd0 @ fed80000: translation ON (IommuEn, reused the crashed kernel\'s tables, on in the crashed kernel) → case 4');
  });

  it('case 3a on AMD: amd_iommu=off leaves the units as the crashed kernel left them', async () => {
    const ivrs = ivrsTable({ subtables: [ivhd({ type: 0x11, deviceId: devid(0, 5, 0), base: 0xfed80000, entries: [ivhdEntry.all()] })] });
    const r = await assessScenario(
      {
        capture: true,
        cmdline: 'amd_iommu=off',
        functions: q35AmdFunctions(),
        tables: { IVRS: ivrs },
        sysfs: [],
        noGroups: true,
        kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)'),
        oldLog: dmesg('Linux version 6.1.0-26-amd64 (x)', 'Command line: root=/dev/sda1 crashkernel=512M', 'pci 0000:00:05.0: AMD-Vi: Found IOMMU cap 0x40', 'AMD-Vi: Interrupt remapping enabled'),
      },
      { readRegisters: false },
    );
    expect(r.case).toBe('3a');
    expect(r.units[0]).toMatchObject({ translationEnabledNow: true, translationEnabledBefore: true, managedNow: false });
    expect(r.units[0]!.basis.now).toMatch(/nothing clears IommuEn/);
  });

  it('live system: no case, a prediction', async () => {
    const r = await assessScenario({ capture: false, cmdline: 'intel_iommu=on iommu=pt crashkernel=512M', tables: { DMAR: qemuQ35Dmar() }, sysfs: [DMAR0], kmsg: dmesg('Linux version 6.1.0 (x)', 'DMAR: Intel(R) Virtualization Technology for Directed I/O') });
    expect(r.captureKernel).toBe(false);
    expect(r.case).toBe('unknown');
    expect(r.prediction).toMatchObject({ case: '4' });
    expect(r.units[0]!.translationEnabledNow).toBe(true);
    expect(r.evidence).toContainEqual({ source: 'proc/cmdline', fact: 'crashkernel=512M: this kernel reserves memory for a crash kernel' });
    expect(renderIommuReport(r)).toContain('capture kernel: no');
    expect(r.missing).toEqual(['not a capture kernel: the cases describe a crash-dump boot (see "prediction" for what a capture kernel would find)']);
  });

  it('live system whose IOMMU could not be judged: no prediction, and "missing" does not point at one (issue 15, item 6)', async () => {
    const r = await assessScenario({ capture: false, cmdline: 'crashkernel=512M', kmsg: dmesg('Linux version 6.1.0 (x)') });
    expect(r.prediction).toBeNull();
    expect(r.missing.join('\n')).not.toMatch(/see "prediction"/);
    expect(r.missing).toEqual(['not a capture kernel: the cases describe a crash-dump boot (and no prediction for one either: no IOMMU unit found, and its absence could not be established)']);
  });
});

describe('bad input degrades to unknown', () => {
  it('a damaged DMAR table (bad checksum) is a problem and blocks the verdict', async () => {
    const r = await assessScenario({ ...case4, tables: { DMAR: breakChecksum(qemuQ35Dmar()) } });
    expect(r.case).toBe('unknown');
    expect(r.problems.join('\n')).toMatch(/acpi:DMAR: bad checksum/);
    expect(r.missing.join('\n')).toMatch(/acpi:DMAR is damaged/);
    // The evidence is kept: the unit is still judged on its own.
    expect(r.units[0]).toMatchObject({ case: '4', translationEnabledNow: true });
  });

  it('a truncated DMAR table', async () => {
    const t = qemuQ35Dmar();
    const r = await assessScenario({ ...case4, tables: { DMAR: t.subarray(0, 60) } });
    expect(r.case).toBe('unknown');
    expect(r.problems.join('\n')).toMatch(/truncated: header says 136 bytes, file has 60/);
  });

  it('a decisive kmsg line cut part-way', async () => {
    const kmsg = QEMU_CAPTURE_KMSG.replace('Copied translation tables from previous kernel for dmar0', 'Copied translation tables from prev');
    const r = await assessScenario({ ...case4, kmsg, mem: undefined }, { readRegisters: false });
    expect(r.case).toBe('unknown');
    expect(r.problems.join('\n')).toMatch(/kmsg line 10 cut part-way through "translation tables copied"/);
    expect(r.missing.join('\n')).toMatch(/a message the verdict depends on/);
  });

  it('a cut fault line is a problem but does not change the case', async () => {
    const r = await assessScenario({ ...case4, kmsg: `${QEMU_CAPTURE_KMSG}[   9.0] DMAR: [DMA Read NO_PASID] Request device [02:0` });
    expect(r.case).toBe('4');
    expect(r.problems.join('\n')).toMatch(/cut part-way through "VT-d DMA fault"/);
  });

  it('an IOMMU class this agent does not know', async () => {
    const r = await assessScenario({ ...case4, sysfs: [DMAR0, { name: 'virtio0', vendor: 'other', files: ['uevent'] }] });
    expect(r.case).toBe('unknown');
    expect(r.problems.join('\n')).toMatch(/sys\/class\/iommu\/virtio0: IOMMU class not known to this agent/);
    expect(r.units.find((u) => u.vendor === 'other')).toMatchObject({ name: 'virtio0', case: 'unknown', translationEnabledNow: null });
    expect(r.missing.join('\n')).toMatch(/virtio0.*IOMMU of a kind this agent does not judge/);
  });

  it('dev/mem short: named, then the debugfs register dump is used', async () => {
    const regset = 'IOMMU: dmar0 Register Base Address: fed90000\nName\t\t\tOffset\t\tContents\nVER             \t0x00\t\t0x0000000000000010\nGSTS            \t0x1c\t\t0x00000000c7000000\nRTADDR          \t0x20\t\t0x000000007ffe0000\n';
    const r = await assessScenario({ ...case4, memSize: 0xfed90010, regset });
    expect(r.problems.join('\n')).toMatch(/dev\/mem at 0xfed90000 \(dmar0\): short read: 0 of 8 bytes at 0xfed90010 \(file ends at 0xfed90010\)/);
    expect(r.units[0]!.registers?.source).toBe('debugfs');
    expect(r.units[0]!.basis.now).toMatch(/^measured debugfs:dmar0: GSTS=0xc7000000/);
    expect(r.case).toBe('4');
    expect(renderIommuReport(r)).toContain('GSTS.TES via debugfs');
  });

  it('dev/mem absent: registers not read, the logs decide', async () => {
    const r = await assessScenario({ ...case4, mem: undefined });
    expect(r.case).toBe('4');
    expect(r.evidence).toContainEqual({ source: 'registers', fact: 'dev/mem absent: registers not read' });
  });

  it('registers and log disagree: the measurement wins, the conflict is listed', async () => {
    const r = await assessScenario({ ...case4, mem: qemuMem(0x02000000) });
    expect(r.units[0]!.translationEnabledNow).toBe(false);
    expect(r.conflicts.join('\n')).toMatch(/dmar0 now: logged kmsg says true .*measured mmio:dmar0 says false; kept the measured one/);
    expect(r.case).toBe('3b');
    expect(renderIommuReport(r)).toContain('conflicting evidence: 2');
  });

  it('two log claims of equal strength that disagree leave the field unknown', async () => {
    const kmsg = QEMU_CAPTURE_KMSG + dmesg('DMAR: Failed to copy translation tables from previous kernel for dmar0');
    const r = await assessScenario({ ...case4, kmsg, mem: undefined });
    expect(r.units[0]!.tablesCopied).toBeNull();
    expect(r.conflicts.join('\n')).toMatch(/dmar0 copied: true .* vs false .*left unknown/);
  });

  it('ACPI tables unreadable: no verdict', async () => {
    const r = await assessScenario({ ...case4, tables: { DMAR: new Uint8Array(0) } });
    expect(r.case).toBe('unknown');
    expect(r.problems.join('\n')).toMatch(/acpi:DMAR: 0 bytes, shorter than the 36-byte ACPI header/);
  });

  it('a --kmsg file that does not exist is a problem, not a crash', async () => {
    const r = await assessScenario(case4, { kmsgFile: '/nonexistent/kmsg.txt' });
    expect(r.problems.join('\n')).toMatch(/--kmsg \/nonexistent\/kmsg.txt: .*ENOENT/);
    expect(r.case).toBe('4');
  });
});

describe('device coverage through DRHD scopes', () => {
  it('resolves bridge and endpoint scopes through secondary bus numbers; INCLUDE_PCI_ALL takes the rest', async () => {
    const dmar = dmarTable({
      hostAddressWidth: 46,
      intrRemap: true,
      structures: [
        // dmar0: the NVMe by its path 00:02.0 → (bus 02) 00.0
        drhd({ base: 0xfed90000, scopes: [deviceScope({ type: SCOPE.ENDPOINT, startBus: 0, path: [[2, 0], [0, 0]] })] }),
        // dmar1: everything below the root port 00:03.0 (the PCIe-to-PCI bridge and the e1000)
        drhd({ base: 0xfed91000, scopes: [deviceScope({ type: SCOPE.BRIDGE, startBus: 0, path: [[3, 0]] }), deviceScope({ type: SCOPE.ENDPOINT, startBus: 0, path: [[9, 0]] })] }),
        drhd({ base: 0xfed92000, includePciAll: true }),
      ],
    });
    const r = await assessScenario({ capture: true, tables: { DMAR: dmar }, sysfs: [], kmsg: dmesg('Linux version 6.1.0 (x)') }, { readRegisters: false });
    const unit = (bdf: string) => r.devices.find((d) => d.bdf === bdf)!.unit;
    expect(unit('0000:02:00.0')).toBe('dmar0');
    expect(unit('0000:00:03.0')).toBe('dmar1');
    expect(unit('0000:03:00.0')).toBe('dmar1');
    expect(unit('0000:04:01.0')).toBe('dmar1');
    expect(unit('0000:01:00.0')).toBe('dmar2');
    expect(unit('0000:00:02.0')).toBe('dmar2');
    expect(r.problems.join('\n')).toMatch(/dmar1 \(DRHD at 0xfed91000\) scope endpoint bus 00 path 09\.0: no function at 0000:00:09\.0/);
    expect(r.evidence).toContainEqual({ source: 'acpi:DMAR', fact: 'dmar0 scope endpoint bus 00 path 02.0/00.0 → 0000:02:00.0' });
  });
});
