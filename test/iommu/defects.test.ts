import { afterAll, describe, expect, it } from 'vitest';
import { assessScenario, cleanupRoots, dmesg, q35AmdFunctions, q35Functions, AMD_CONTROL, type Scenario } from './mock-roots.js';
import { qemuQ35Dmar, dmarTable, drhd, deviceScope, SCOPE, ivrsTable, ivhd, ivhdEntry, devid, iortTable } from './acpi-bytes.js';
import { renderIommuReport } from '../../src/iommu/render-report.js';

/**
 * Issue 13's eight defects, one mock root each. Every test here failed before the fix (checked by
 * running this file against the code before the change) and passes after.
 */
afterAll(cleanupRoots);

/** A 6.18 crashed kernel on AMD: mainline no longer prints "Found IOMMU cap" (print_iommu_info(), amd/init.c:2272). */
const AMD_618_OLD_LOG = dmesg(
  'Linux version 6.18.2 (x)',
  'Command line: root=/dev/sda1 ro crashkernel=512M',
  'AMD-Vi: Using global IVHD EFR:0x246577efa2254afa, EFR2:0x0',
  'pci 0000:00:05.0: Adding to iommu group 11',
  'AMD-Vi: Extended features (0x246577efa2254afa, 0x0): PPR X2APIC NX GT IA GA PC GA_vAPIC',
  'AMD-Vi: Interrupt remapping enabled',
  'AMD-Vi: X2APIC enabled',
  'perf/amd_iommu: Detected AMD IOMMU #0 (2 banks, 4 counters/bank).',
);

const oneIvhd = (): Uint8Array => ivrsTable({ subtables: [ivhd({ type: 0x11, deviceId: devid(0, 5, 0), base: 0xfed80000, entries: [ivhdEntry.all()] })] });

const amdOff: Scenario = {
  capture: true,
  cmdline: 'amd_iommu=off',
  osrelease: '6.18.2',
  functions: q35AmdFunctions(),
  tables: { IVRS: oneIvhd() },
  sysfs: [],
  noGroups: true,
  kmsg: dmesg('Linux version 6.18.2 (x)'),
  oldLog: AMD_618_OLD_LOG,
};

describe('defect 1: AMD without "Found IOMMU cap"', () => {
  it('a 6.18 old log ("Extended features", perf "Detected AMD IOMMU #0") + amd_iommu=off → 3a, not 1', async () => {
    const r = await assessScenario(amdOff, { readRegisters: false });
    expect(r.case).toBe('3a');
    expect(r.units[0]).toMatchObject({ translationEnabledBefore: true, translationEnabledNow: true, managedNow: false, case: '3a' });
    expect(r.units[0]!.basis.before).toMatch(/"AMD-Vi: Extended features \(…\)".*"perf\/amd_iommu: Detected AMD IOMMU #0"/);
    expect(r.devices.filter((d) => d.unit === 'ivhd0').every((d) => d.case === '3a')).toBe(true);
  });

  it('"Extended features" alone is enough; silence never says "off"', async () => {
    const r = await assessScenario({ ...amdOff, oldLog: dmesg('Linux version 6.18.2 (x)', 'AMD-Vi: Extended features (0x246577efa2254afa, 0x0): PPR NX GT IA GA PC') }, { readRegisters: false });
    expect(r.case).toBe('3a');
    const silent = await assessScenario({ ...amdOff, oldLog: dmesg('Linux version 6.18.2 (x)', 'Command line: root=/dev/sda1') }, { readRegisters: false });
    expect(silent.case).toBe('unknown');
    expect(silent.units[0]!.translationEnabledBefore).toBeNull();
  });

  it('IommuEn=1 read from the registers is not overruled by the old log\'s silence: 3a', async () => {
    const r = await assessScenario({
      ...amdOff,
      oldLog: dmesg('Linux version 6.18.2 (x)', 'Command line: root=/dev/sda1'),
      mem: [{ base: 0xfed80000n, values: { 0x0: [8, 0x1f0000fffn], [AMD_CONTROL]: [8, 0x18c11dn], 0x30: [8, 0x246577efa2254afan] } }],
    });
    expect(r.case).toBe('3a');
    expect(r.units[0]!.basis.now).toMatch(/^measured mmio:ivhd0: control register=0x18c11d \(IommuEn=1\)/);
  });
});

const twoIvhds = (): Uint8Array =>
  ivrsTable({
    subtables: [
      ivhd({ type: 0x11, deviceId: devid(0, 5, 0), base: 0xfed80000, entries: [ivhdEntry.rangeStart(devid(0, 0, 0)), ivhdEntry.rangeEnd(devid(2, 31, 7))] }),
      ivhd({ type: 0x11, deviceId: devid(0, 6, 0), base: 0xfed90000, entries: [ivhdEntry.rangeStart(devid(3, 0, 0)), ivhdEntry.rangeEnd(devid(7, 31, 7))] }),
    ],
  });

describe('defect 2: AMD "already enabled" is ANDed over all units', () => {
  const base: Scenario = {
    capture: true,
    cmdline: 'reset_devices',
    osrelease: '6.12.43',
    functions: [...q35AmdFunctions(), { bdf: '0000:00:06.0', vendor: 0x1022, device: 0x0020, classCode: 0x080600 }],
    tables: { IVRS: twoIvhds() },
    sysfs: [{ name: 'ivhd0', vendor: 'amd' }, { name: 'ivhd1', vendor: 'amd' }],
    kmsg: dmesg('Linux version 6.12.43 (x)', 'AMD-Vi: Extended features (0x246577efa2254afa, 0x0): PPR NX GT IA', 'AMD-Vi: Interrupt remapping enabled'),
  };

  it('no "Translation is already enabled" with two units does not make each unit "off before"', async () => {
    const r = await assessScenario(base, { readRegisters: false });
    for (const u of r.units) {
      expect(u.translationEnabledBefore).toBeNull();
      expect(u.case).not.toBe('2');
      expect(u.notes!.join('\n')).toMatch(/at least one was off .*ANDed over all units/);
    }
    expect(r.case).toBe('unknown');
  });

  it('with a single unit the same silence still tells 2 from 4 (never 1)', async () => {
    const r = await assessScenario({ ...base, functions: q35AmdFunctions(), tables: { IVRS: oneIvhd() }, sysfs: [{ name: 'ivhd0', vendor: 'amd' }] }, { readRegisters: false });
    expect(r.case).toBe('2');
  });
});

describe('defect 3: a log from another boot', () => {
  const DMAR0 = { name: 'dmar0', vendor: 'intel' as const, address: 'fed90000', devices: q35Functions().map((f) => f.bdf) };
  const capture: Scenario = {
    capture: true,
    procCmdline: 'console=ttyS0 reset_devices intel_iommu=on elfcorehdr=1654132K',
    tables: { DMAR: qemuQ35Dmar() },
    sysfs: [DMAR0],
    kmsg: dmesg(
      'Linux version 6.1.0-26-amd64 (x)',
      'Command line: console=ttyS0 reset_devices intel_iommu=on elfcorehdr=1654132K',
      'DMAR: Translation already enabled - trying to copy translation structures',
      'DMAR: Copied translation tables from previous kernel for dmar0',
      'DMAR: Intel(R) Virtualization Technology for Directed I/O',
    ),
  };

  it('the capture kernel\'s own log: case 4 (control)', async () => {
    expect((await assessScenario(capture, { readRegisters: false })).case).toBe('4');
  });

  it('"Translation was enabled for dmar0 but we are not in kdump mode" in a capture kernel blocks the verdict', async () => {
    const r = await assessScenario(
      { ...capture, kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: Translation was enabled for dmar0 but we are not in kdump mode', 'DMAR: Intel(R) Virtualization Technology for Directed I/O') },
      { readRegisters: false },
    );
    expect(r.case).toBe('unknown');
    expect(r.missing.join('\n')).toMatch(/printed only outside a crash kernel .*this log is from another boot/);
  });

  it('the AMD wording too', async () => {
    const r = await assessScenario(
      { ...amdOff, cmdline: '', kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'AMD-Vi: Translation was enabled for IOMMU:0 but we are not in kdump mode'), sysfs: [{ name: 'ivhd0', vendor: 'amd' }] },
      { readRegisters: false },
    );
    expect(r.case).toBe('unknown');
    expect(r.missing.join('\n')).toMatch(/IOMMU:0 but we are not in kdump mode" is printed only outside a crash kernel/);
  });

  it('a log whose "Command line:" is not /proc/cmdline blocks the verdict', async () => {
    const r = await assessScenario({ ...capture, procCmdline: 'console=ttyS0 reset_devices intel_iommu=on elfcorehdr=999K' }, { readRegisters: false });
    expect(r.case).toBe('unknown');
    expect(r.missing.join('\n')).toMatch(/is not this kernel's \/proc\/cmdline: the log is from another boot/);
  });
});

describe('defect 4: passthrough is its own finding', () => {
  const DMAR0 = { name: 'dmar0', vendor: 'intel' as const, address: 'fed90000', devices: q35Functions().map((f) => f.bdf) };
  it('iommu=pt in the crashed kernel with copied tables: stray DMA goes to raw memory (devices flagged)', async () => {
    const r = await assessScenario(
      {
        capture: true,
        procCmdline: 'console=ttyS0 reset_devices intel_iommu=on elfcorehdr=1654132K',
        tables: { DMAR: qemuQ35Dmar() },
        sysfs: [DMAR0],
        kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: Translation already enabled - trying to copy translation structures', 'DMAR: Copied translation tables from previous kernel for dmar0', 'DMAR: Intel(R) Virtualization Technology for Directed I/O', 'iommu: Default domain type: Translated'),
        oldLog: dmesg('Linux version 6.1.0-26-amd64 (x)', 'Command line: root=/dev/vda1 intel_iommu=on iommu=pt crashkernel=384M', 'iommu: Default domain type: Passthrough (set via kernel command line)', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
      },
      { readRegisters: false },
    );
    expect(r.case).toBe('4');
    expect(r.passthrough).toMatchObject({ before: true, now: false });
    expect(r.devices.find((d) => d.bdf === '0000:02:00.0')!.passthrough).toBe(true);
    expect(renderIommuReport(r)).toMatch(/passthrough: the crashed kernel ran identity mappings/);
  });

  it('"Default domain type: Passthrough" now: every managed device is identity-mapped', async () => {
    const r = await assessScenario(
      {
        capture: true,
        procCmdline: 'console=ttyS0 intel_iommu=on iommu.passthrough=1 elfcorehdr=1654132K',
        groupType: 'identity',
        tables: { DMAR: qemuQ35Dmar() },
        sysfs: [DMAR0],
        kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'iommu: Default domain type: Passthrough (set via kernel command line)', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
      },
      { readRegisters: false },
    );
    expect(r.passthrough.now).toBe(true);
    expect(r.devices.filter((d) => d.passthrough !== true).map((d) => [d.bdf, d.unit, d.passthrough])).toEqual([]);
  });
});

describe('defect 5: AMD SEV-SNP', () => {
  const snpMem = (efr: bigint) => [{ base: 0xfed80000n, values: { 0x0: [8, 0x1f0000fffn], [AMD_CONTROL]: [8, 0x18c11dn], 0x30: [8, efr] } as Record<number, [4 | 8, bigint | number]> }];
  const snp: Scenario = {
    capture: true,
    cmdline: 'reset_devices',
    osrelease: '6.18.2',
    functions: q35AmdFunctions(),
    tables: { IVRS: oneIvhd() },
    sysfs: [{ name: 'ivhd0', vendor: 'amd' }],
    kmsg: dmesg(
      'Linux version 6.18.2 (x)',
      'AMD-Vi: Re-using CWB buffers from the previous kernel',
      'AMD-Vi: Re-using command buffer from the previous kernel',
      'AMD-Vi: Re-using event buffer from the previous kernel',
      'AMD-Vi: Translation is already enabled - trying to reuse translation structures',
      'AMD-Vi: Reused DEV table from previous kernel.',
      'AMD-Vi: IOMMU SNP support enabled.',
    ),
    mem: snpMem(0x8000_0000_0000_0000n | 0x246577efa2254afan),
  };

  it('"Reused DEV table" on an SNP IOMMU: case 4 with the old tables in use, reported as reused', async () => {
    const r = await assessScenario(snp);
    expect(r.case).toBe('4');
    expect(r.units[0]).toMatchObject({ snp: true, oldTables: 'reused', tablesCopied: true });
    expect(r.units[0]!.notes!.join('\n')).toMatch(/SEV-SNP capable IOMMU \(EFR=0xa46577efa2254afa bit 63/);
    expect(renderIommuReport(r)).toContain('reused the crashed kernel\'s tables');
  });

  it('"Copied DEV table" (a kernel before 38e5f33ee359) on an SNP IOMMU blocks the verdict', async () => {
    const r = await assessScenario({
      ...snp,
      osrelease: '6.12.43',
      kmsg: dmesg('Linux version 6.12.43 (x)', 'AMD-Vi: Translation is already enabled - trying to copy translation structures', 'AMD-Vi: Copied DEV table from previous kernel.'),
    });
    expect(r.case).toBe('unknown');
    expect(r.units[0]).toMatchObject({ snp: true, oldTables: 'copied' });
    expect(r.missing.join('\n')).toMatch(/"Copied DEV table" \(a kernel before 38e5f33ee359\) on an SNP-capable IOMMU/);
  });

  it('"Completion-Wait loop timed out" blocks the verdict whatever else the log says', async () => {
    const r = await assessScenario({ ...snp, kmsg: `${snp.kmsg}${dmesg('AMD-Vi: Completion-Wait loop timed out')}` });
    expect(r.case).toBe('unknown');
    expect(r.missing.join('\n')).toMatch(/1 "Completion-Wait loop timed out"/);
  });

  // SNP known from one source at a time, no registers read: the sysfs features file, or the log alone.
  const copied = dmesg('Linux version 6.12.43 (x)', 'AMD-Vi: Translation is already enabled - trying to copy translation structures', 'AMD-Vi: Copied DEV table from previous kernel.');
  it('SNP from amd-iommu/features alone (EFR bit 63, no registers) with "Copied DEV table": the verdict is blocked', async () => {
    const r = await assessScenario({ ...snp, osrelease: '6.12.43', mem: undefined, sysfs: [{ name: 'ivhd0', vendor: 'amd', features: 'a46577efa2254afa:0' }], kmsg: copied });
    expect(r.case).toBe('unknown');
    expect(r.units[0]).toMatchObject({ snp: true, oldTables: 'copied' });
    expect(r.units[0]!.notes!.join('\n')).toMatch(/amd-iommu\/features a46577efa2254afa:0 bit 63/);
    expect(r.missing.join('\n')).toMatch(/on an SNP-capable IOMMU/);
  });

  it('SNP from the log alone ("Extended features (…) … SNP", no features file, no registers) with "Copied DEV table": the verdict is blocked', async () => {
    const r = await assessScenario({
      ...snp,
      osrelease: '6.12.43',
      mem: undefined,
      sysfs: [{ name: 'ivhd0', vendor: 'amd', features: null }],
      kmsg: dmesg('Linux version 6.12.43 (x)', 'AMD-Vi: Extended features (0xa46577efa2254afa, 0x0): PPR X2APIC NX GT IA GA PC GA_vAPIC SNP', 'AMD-Vi: Translation is already enabled - trying to copy translation structures', 'AMD-Vi: Copied DEV table from previous kernel.'),
    });
    expect(r.case).toBe('unknown');
    expect(r.units[0]).toMatchObject({ snp: true, oldTables: 'copied' });
    expect(r.units[0]!.notes!.join('\n')).toMatch(/"Extended features \(…\) … SNP"/);
  });

  it('without SNP a copied table is case 4 as before', async () => {
    const r = await assessScenario({ ...snp, kmsg: dmesg('Linux version 6.12.43 (x)', 'AMD-Vi: Translation is already enabled - trying to copy translation structures', 'AMD-Vi: Copied DEV table from previous kernel.'), mem: snpMem(0x246577efa2254afan) });
    expect(r.case).toBe('4');
    expect(r.units[0]).toMatchObject({ snp: false, oldTables: 'copied' });
  });
});

describe('defect 6: Intel context tables and scalable mode', () => {
  const DMAR0 = { name: 'dmar0', vendor: 'intel' as const, address: 'fed90000', devices: q35Functions().map((f) => f.bdf) };
  const base: Scenario = {
    capture: true,
    procCmdline: 'console=ttyS0 reset_devices intel_iommu=on,sm_off elfcorehdr=1654132K',
    tables: { DMAR: qemuQ35Dmar() },
    sysfs: [DMAR0],
    kmsg: dmesg(
      'Linux version 6.1.0-26-amd64 (x)',
      'DMAR: Translation already enabled - trying to copy translation structures',
      'DMAR: dmar0: Failed to copy context table for bus 2',
      'DMAR: Copied translation tables from previous kernel for dmar0',
      'DMAR: Intel(R) Virtualization Technology for Directed I/O',
    ),
  };

  it('"Failed to copy context table for bus 2": the functions on bus 2 have no copied tables', async () => {
    const r = await assessScenario(base, { readRegisters: false });
    expect(r.case).toBe('4');
    expect(r.devices.find((d) => d.bdf === '0000:02:00.0')).toMatchObject({ tablesCopied: false });
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')).toMatchObject({ tablesCopied: true });
    expect(r.units[0]!.notes!.join('\n')).toMatch(/"Failed to copy context table for bus 2"/);
  });

  it('a scalable-mode mismatch: the copy fails and there was a window with translation off', async () => {
    const r = await assessScenario(
      {
        ...base,
        kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: Translation already enabled - trying to copy translation structures', 'DMAR: Failed to copy translation tables from previous kernel for dmar0', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
        oldLog: dmesg('Linux version 6.1.0-26-amd64 (x)', 'Command line: root=/dev/vda1 intel_iommu=on,sm_on crashkernel=384M', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
      },
      { readRegisters: false },
    );
    expect(r.case).toBe('4');
    expect(r.units[0]).toMatchObject({ tablesCopied: false, oldTables: 'not-copied' });
    expect(r.units[0]!.notes!.join('\n')).toMatch(/translation was off for a window during boot: scalable mode on in the crashed kernel, off here/);
  });
});

describe('defect 7: mixed units', () => {
  it('dmar0 case 2, dmar1 case 4: the machine case is `mixed`, each device keeps its unit\'s case', async () => {
    const dmar = dmarTable({
      hostAddressWidth: 39,
      structures: [drhd({ base: 0xfed90000, scopes: [deviceScope({ type: SCOPE.BRIDGE, startBus: 0, path: [[2, 0]] })] }), drhd({ base: 0xfed91000, includePciAll: true })],
    });
    const r = await assessScenario(
      {
        capture: true,
        procCmdline: 'console=ttyS0 intel_iommu=on elfcorehdr=1654132K',
        tables: { DMAR: dmar },
        sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000' }, { name: 'dmar1', vendor: 'intel', address: 'fed91000' }],
        kmsg: dmesg('Linux version 6.1.0-26-amd64 (x)', 'DMAR: Translation already enabled - trying to copy translation structures', 'DMAR: Copied translation tables from previous kernel for dmar1', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
      },
      { readRegisters: false },
    );
    expect(r.units.map((u) => [u.name, u.case])).toEqual([['dmar0', '2'], ['dmar1', '4']]);
    expect(r.case).toBe('mixed');
    expect(r.devices.find((d) => d.bdf === '0000:02:00.0')!.case).toBe('2');
    expect(r.devices.find((d) => d.bdf === '0000:01:00.0')!.case).toBe('4');
  });
});

describe('defect 8: ARM', () => {
  it('an IORT with only an ITS group (no SMMU) does not block: no IOMMU translates DMA, case 1', async () => {
    const iort = iortTable([{ kind: 'its' }, { kind: 'rc', maps: [{ inputBase: 0, count: 0x10000, outputBase: 0, to: 0 }] }]);
    const r = await assessScenario({ capture: true, tables: { IORT: iort }, sysfs: [], noGroups: true, kmsg: dmesg('Booting Linux on physical CPU 0x0000000000 [0x000f0510]', 'Linux version 6.1.0-26-arm64 (x)') });
    expect(r.case).toBe('1');
    expect(r.evidence.some((e) => e.source === 'acpi:IORT' && /no SMMU node/.test(e.fact))).toBe(true);
  });

  it('an arm64 capture kernel: elfcorehdr comes from /chosen in the device tree, not the command line', async () => {
    const r = await assessScenario({ capture: true, procCmdline: 'console=ttyAMA0 reset_devices', devicetree: { 'chosen/linux,elfcorehdr': Buffer.from('00000000bfe000000000000000010000', 'hex') }, tables: {}, sysfs: [], noGroups: true, kmsg: dmesg('Linux version 6.1.0-26-arm64 (x)') });
    expect(r.captureKernel).toBe(true);
    expect(r.problems.join('\n')).not.toMatch(/no elfcorehdr=/);
    expect(r.evidence).toContainEqual({ source: 'devicetree', fact: '/chosen/linux,elfcorehdr 0xbfe00000+0x10000: booted by kexec as a crash kernel (arm64 passes it in the device tree)' });
  });
});

describe('defect 3: the command-line comparison on a real capture kernel', () => {
  it('6.1 capture kernel of the QEMU e2e: "Command line:" (with its double spaces) equals /proc/cmdline', async () => {
    const { sameCmdline } = await import('../../src/iommu/claims.js');
    // Both strings as the e2e guest reported them (dmesg.txt and /proc/cmdline of the capture kernel).
    const logged = ' console=ttyS0 intel_iommu=on iomem=relaxed no_timer_check irqpoll nr_cpus=1 reset_devices cgroup_disable=memory mce=off numa=off udev.children-max=2 panic=10 acpi_no_memhotplug transparent_hugepage=never nokaslr hest_disable cma=0 pcie_ports=compat  acpi_rsdp=0xf59c0 elfcorehdr=1490292K';
    const proc = ' console=ttyS0 intel_iommu=on iomem=relaxed no_timer_check irqpoll nr_cpus=1 reset_devices cgroup_disable=memory mce=off numa=off udev.children-max=2 panic=10 acpi_no_memhotplug transparent_hugepage=never nokaslr hest_disable cma=0 pcie_ports=compat  acpi_rsdp=0xf59c0 elfcorehdr=1490292K\n';
    expect(sameCmdline(logged, proc)).toBe(true);
    expect(sameCmdline(logged, proc.replace('1490292K', '1490296K'))).toBe(false);
  });
});
