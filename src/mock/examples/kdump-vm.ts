import { dmarTable, type DmarScope } from '../acpi-dmar.js';
import { MockTree, type MockFunction } from '../tree-builder.js';

/**
 * The QEMU q35 guest of the end-to-end test (e2e/, with `-device intel-iommu,intremap=on`) as its kdump
 * capture kernel sees it, before udev: IOMMU case 4. The crashed kernel had VT-d on; this kernel found
 * translation enabled and copied the old tables ("Copied translation tables from previous kernel"), the
 * NVMe is still doing the crashed kernel's DMA (a fault in this kernel's log), and the registers
 * (debugfs `iommu_regset`) show GSTS.TES set. Only built-in drivers (pcieport) are bound yet.
 */
export function kdumpVmFunctions(): MockFunction[] {
  const rp = (bdf: string, sec: number, sub: number, group: number): MockFunction => ({
    bdf, vendor: 0x1b36, device: 0x000c, classCode: 0x060400, bridge: { secondaryBus: sec, subordinateBus: sub },
    pcie: { type: 'root_port', linkSpeed: 1, dllla: true }, pm: { version: 3 }, msi: true, driver: 'pcieport', iommuGroup: group,
  });
  return [
    { bdf: '0000:00:00.0', vendor: 0x8086, device: 0x29c0, classCode: 0x060000, subsystemVendor: 0x1af4, subsystemDevice: 0x1100, iommuGroup: 0 },
    rp('0000:00:01.0', 0x01, 0x01, 1),
    rp('0000:00:02.0', 0x02, 0x02, 2),
    rp('0000:00:03.0', 0x03, 0x04, 3),
    rp('0000:00:04.0', 0x05, 0x07, 4),
    { bdf: '0000:00:1f.0', vendor: 0x8086, device: 0x2918, classCode: 0x060100, revision: 0x02, subsystemVendor: 0x1af4, subsystemDevice: 0x1100, iommuGroup: 5 },
    { bdf: '0000:00:1f.2', vendor: 0x8086, device: 0x2922, classCode: 0x010601, revision: 0x02, subsystemVendor: 0x1af4, subsystemDevice: 0x1100, msi: true, iommuGroup: 5 },
    { bdf: '0000:00:1f.3', vendor: 0x8086, device: 0x2930, classCode: 0x0c0500, revision: 0x02, subsystemVendor: 0x1af4, subsystemDevice: 0x1100, iommuGroup: 5 },
    // e1000e (82574L) on the first root port.
    { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, subsystemVendor: 0x8086, subsystemDevice: 0x0000, pcie: { type: 'endpoint', linkSpeed: 1 }, pm: { version: 3 }, msi: true, msix: true, iommuGroup: 6 },
    // QEMU NVMe: FLR advertised.
    { bdf: '0000:02:00.0', parent: '0000:00:02.0', vendor: 0x1b36, device: 0x0010, classCode: 0x010802, revision: 0x02, subsystemVendor: 0x1af4, subsystemDevice: 0x1100, pcie: { type: 'endpoint', flr: true, linkSpeed: 1 }, pm: { version: 3 }, msix: true, iommuGroup: 7 },
    // PCIe-to-PCI bridge with a conventional e1000 (82540EM) behind it.
    { bdf: '0000:03:00.0', parent: '0000:00:03.0', vendor: 0x1b36, device: 0x000e, classCode: 0x060400, bridge: { secondaryBus: 0x04, subordinateBus: 0x04 }, pcie: { type: 'pcie_to_pci_bridge' }, pm: { version: 3 }, iommuGroup: 8 },
    { bdf: '0000:04:01.0', parent: '0000:03:00.0', vendor: 0x8086, device: 0x100e, classCode: 0x020000, revision: 0x03, subsystemVendor: 0x1af4, subsystemDevice: 0x1100, iommuGroup: 8 },
    // x3130 switch with a virtio-net (modern, FLR) below its downstream port.
    { bdf: '0000:05:00.0', parent: '0000:00:04.0', vendor: 0x104c, device: 0x8232, classCode: 0x060400, bridge: { secondaryBus: 0x06, subordinateBus: 0x07 }, pcie: { type: 'upstream_port' }, pm: { version: 3 }, driver: 'pcieport', iommuGroup: 9 },
    { bdf: '0000:06:00.0', parent: '0000:05:00.0', vendor: 0x104c, device: 0x8233, classCode: 0x060400, bridge: { secondaryBus: 0x07, subordinateBus: 0x07 }, pcie: { type: 'downstream_port', dllla: true }, pm: { version: 3 }, driver: 'pcieport', iommuGroup: 10 },
    { bdf: '0000:07:00.0', parent: '0000:06:00.0', vendor: 0x1af4, device: 0x1041, classCode: 0x020000, revision: 0x01, subsystemVendor: 0x1af4, subsystemDevice: 0x1100, pcie: { type: 'endpoint', flr: true }, pm: { version: 3 }, msix: true, iommuGroup: 10 },
  ];
}

/** The capture kernel's log as /dev/kmsg records (`PRI,seq,usec,flags;text`; PRI 6 = kernel facility, info). */
const CAPTURE_LOG: [number, string][] = [
  [0, 'Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)'],
  [0, 'Command line: BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 console=ttyS0 reset_devices irqpoll nr_cpus=1 intel_iommu=on panic=5 elfcorehdr=1654132K'],
  [21_000, 'ACPI: DMAR 0x000000001FFE1F5A 000088 (v01 BOCHS  BXPC     00000001 BXPC 00000001)'],
  [398_000, 'DMAR: IOMMU enabled'],
  [512_000, 'DMAR: Host address width 39'],
  [512_010, 'DMAR: DRHD base: 0x000000fed90000 flags: 0x0'],
  [512_050, 'DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a'],
  [512_090, 'DMAR: ATSR flags: 0x1'],
  [512_100, 'DMAR-IR: IOAPIC id 0 under DRHD base  0xfed90000 IOMMU 0'],
  [512_300, 'DMAR-IR: Copied IR table for dmar0 from previous kernel'],
  [513_000, 'DMAR-IR: Enabled IRQ remapping in x2apic mode'],
  [1_104_000, 'DMAR: Translation already enabled - trying to copy translation structures'],
  [1_109_000, 'DMAR: Copied translation tables from previous kernel for dmar0'],
  [1_110_000, 'DMAR: Intel(R) Virtualization Technology for Directed I/O'],
  [1_402_000, 'DMAR: DRHD: handling fault status reg 2'],
  [1_402_010, 'DMAR: [DMA Write NO_PASID] Request device [02:00.0] fault addr 0x3f7fe000 [fault reason 0x05] PTE Write access is not set'],
];

function kmsg(): string {
  return CAPTURE_LOG.map(([usec, text], seq) => `6,${seq},${usec},-;${text}`).join('\n') + '\n';
}

/** dmar0's registers as debugfs prints them (drivers/iommu/intel/debugfs.c iommu_regset_show). */
const REGSET = [
  'IOMMU: dmar0 Register Base Address: fed90000',
  'Name\t\t\tOffset\t\tContents',
  'VER\t\t\t0x00\t\t0x0000000000000010',
  'CAP\t\t\t0x08\t\t0x00d2008c22260286',
  'ECAP\t\t\t0x10\t\t0x0000000000f00f4a',
  'GCMD\t\t\t0x18\t\t0x0000000000000000',
  'GSTS\t\t\t0x1c\t\t0x00000000c7000000',
  'RTADDR\t\t\t0x20\t\t0x000000003ffe0000',
  '',
].join('\n');

export function kdumpVmTree(): MockTree {
  const fns = kdumpVmFunctions();
  const tree = new MockTree().addAll(fns);
  tree.file('proc/cmdline', 'BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 console=ttyS0 reset_devices irqpoll nr_cpus=1 intel_iommu=on panic=5 elfcorehdr=1654132K\n');
  tree.file('proc/sys/kernel/osrelease', '6.1.0-26-amd64\n');
  // The crashed kernel's memory (an empty stand-in: its presence is the evidence).
  tree.file('proc/vmcore', '');
  tree.file('dev/kmsg', kmsg());
  // QEMU's DMAR: one DRHD, the IOAPIC scope, then one scope per root-bus function (bridges as type 2).
  const rootBus = fns.filter((f) => f.bdf.startsWith('0000:00:'));
  const scopes: DmarScope[] = [{ type: 3, startBus: 0xff, device: 0, fn: 0 }];
  for (const f of rootBus) scopes.push({ type: f.bridge ? 2 : 1, startBus: 0, device: parseInt(f.bdf.slice(8, 10), 16), fn: parseInt(f.bdf.slice(11), 16) });
  tree.file('sys/firmware/acpi/tables/DMAR', dmarTable(39, true, [{ base: 0xfed90000, includePciAll: false, scopes }]));
  tree.file('sys/firmware/acpi/tables/APIC', new Uint8Array(44));
  const unit = 'sys/devices/virtual/iommu/dmar0';
  tree.file(`${unit}/intel-iommu/address`, 'fed90000\n');
  tree.file(`${unit}/intel-iommu/version`, '1:0\n');
  tree.file(`${unit}/intel-iommu/cap`, 'd2008c22260286\n');
  tree.file(`${unit}/intel-iommu/ecap`, 'f00f4a\n');
  tree.file(`${unit}/uevent`, '');
  tree.link('sys/class/iommu/dmar0', '../../devices/virtual/iommu/dmar0');
  for (const f of fns) tree.link(`${unit}/devices/${f.bdf}`, `../../../../../bus/pci/devices/${f.bdf}`);
  tree.file('sys/kernel/debug/iommu/intel/iommu_regset', REGSET);
  return tree;
}
