import { MockTree, type MockFunction } from '../tree-builder.js';

/**
 * A two-socket-style server slice: root ports, a PLX switch with NVMe and a ConnectX behind it, a
 * two-port X710 NIC with SR-IOV VFs, an AMD GPU with its HDA function, a MegaRAID HBA, a PCIe-to-PCI
 * bridge with conventional devices (one with AF FLR), chipset functions on the root bus.
 * IDs are real parts; capability sets follow what those parts advertise.
 */
export function serverFunctions(): MockFunction[] {
  const rp = (bdf: string, device: number, secondaryBus: number, subordinateBus: number, group: number, extra: Partial<MockFunction> = {}): MockFunction => ({
    bdf,
    vendor: 0x8086,
    device,
    classCode: 0x060400,
    revision: 0x04,
    bridge: { secondaryBus, subordinateBus },
    pcie: { type: 'root_port', linkSpeed: 3, dllla: true, crsVisibility: true },
    pm: { version: 3 },
    msi: true,
    aer: true,
    acs: true,
    driver: 'pcieport',
    iommuGroup: group,
    ...extra,
  });
  return [
    // Root bus 00: host bridge, root ports, chipset.
    { bdf: '0000:00:00.0', vendor: 0x8086, device: 0x2020, classCode: 0x060000, revision: 0x04, subsystemVendor: 0x15d9, subsystemDevice: 0x095d, iommuGroup: 0 },
    rp('0000:00:01.0', 0x2030, 0x01, 0x01, 1),
    rp('0000:00:02.0', 0x2031, 0x02, 0x06, 2),
    rp('0000:00:03.0', 0x2032, 0x07, 0x07, 3),
    rp('0000:00:1c.0', 0xa190, 0x08, 0x08, 4, { pcie: { type: 'root_port', linkSpeed: 3, dllla: true, crsVisibility: false } }),
    rp('0000:00:1c.4', 0xa194, 0x09, 0x09, 5),
    rp('0000:00:1d.0', 0xa198, 0x0a, 0x0b, 6, { pcie: { type: 'root_port', linkSpeed: 1, dllla: false, crsVisibility: false } }),
    { bdf: '0000:00:14.0', vendor: 0x8086, device: 0xa1af, classCode: 0x0c0330, revision: 0x09, subsystemVendor: 0x15d9, subsystemDevice: 0x095d, pcie: { type: 'rc_integrated_endpoint' }, pm: { version: 2 }, msi: true, driver: 'xhci_hcd', iommuGroup: 7 },
    { bdf: '0000:00:1f.0', vendor: 0x8086, device: 0xa1c8, classCode: 0x060100, revision: 0x09, subsystemVendor: 0x15d9, subsystemDevice: 0x095d, iommuGroup: 8 },
    { bdf: '0000:00:1f.4', vendor: 0x8086, device: 0xa1a3, classCode: 0x0c0500, revision: 0x09, subsystemVendor: 0x15d9, subsystemDevice: 0x095d, driver: 'i801_smbus', iommuGroup: 8 },

    // 01: Samsung PM983 NVMe straight on a root port (the kernel adds a device-specific reset for 144d:a804, not this one).
    { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x144d, device: 0xa808, classCode: 0x010802, subsystemVendor: 0x144d, subsystemDevice: 0xa801, pcie: { type: 'endpoint', flr: true, linkSpeed: 3 }, pm: { version: 3, noSoftReset: true }, msi: true, msix: true, aer: true, ltr: true, driver: 'nvme', iommuGroup: 9 },

    // 02..06: PLX PEX 8747 switch: upstream 02:00.0, downstream 03:08.0 / 03:09.0 / 03:10.0.
    { bdf: '0000:02:00.0', parent: '0000:00:02.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, revision: 0xca, bridge: { secondaryBus: 0x03, subordinateBus: 0x06 }, pcie: { type: 'upstream_port', linkSpeed: 3 }, pm: { version: 3 }, msi: true, aer: true, driver: 'pcieport', iommuGroup: 10 },
    { bdf: '0000:03:08.0', parent: '0000:02:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, revision: 0xca, bridge: { secondaryBus: 0x04, subordinateBus: 0x04 }, pcie: { type: 'downstream_port', linkSpeed: 3, dllla: true }, pm: { version: 3 }, msi: true, aer: true, acs: true, driver: 'pcieport', iommuGroup: 11 },
    { bdf: '0000:03:09.0', parent: '0000:02:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, revision: 0xca, bridge: { secondaryBus: 0x05, subordinateBus: 0x05 }, pcie: { type: 'downstream_port', linkSpeed: 3, dllla: true }, pm: { version: 3 }, msi: true, aer: true, acs: true, driver: 'pcieport', iommuGroup: 12 },
    { bdf: '0000:03:10.0', parent: '0000:02:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, revision: 0xca, bridge: { secondaryBus: 0x06, subordinateBus: 0x06 }, pcie: { type: 'downstream_port', linkSpeed: 3, dllla: true }, pm: { version: 3 }, msi: true, aer: true, acs: true, driver: 'pcieport', iommuGroup: 13 },
    { bdf: '0000:04:00.0', parent: '0000:03:08.0', vendor: 0x8086, device: 0x0a54, classCode: 0x010802, subsystemVendor: 0x8086, subsystemDevice: 0x4802, pcie: { type: 'endpoint', flr: true, linkSpeed: 3 }, pm: { version: 3, noSoftReset: true }, msix: true, aer: true, driver: 'nvme', iommuGroup: 14 },
    { bdf: '0000:05:00.0', parent: '0000:03:09.0', vendor: 0x15b3, device: 0x1017, classCode: 0x020000, subsystemVendor: 0x15b3, subsystemDevice: 0x0020, pcie: { type: 'endpoint', flr: true, linkSpeed: 3 }, pm: { version: 3 }, msix: true, aer: true, driver: 'mlx5_core', iommuGroup: 15 },

    // 07: Intel X710 two ports; port 0 has 4 VFs enabled (VF device 154c), bound to vfio-pci.
    { bdf: '0000:07:00.0', parent: '0000:00:03.0', vendor: 0x8086, device: 0x1572, classCode: 0x020000, revision: 0x02, subsystemVendor: 0x8086, subsystemDevice: 0x0001, pcie: { type: 'endpoint', flr: true, linkSpeed: 3 }, pm: { version: 3, noSoftReset: true }, msi: true, msix: true, aer: true, acs: true, sriov: { totalVfs: 64, numVfs: 4, vfDevice: 0x154c, offset: 0x10, stride: 1 }, driver: 'i40e', iommuGroup: 16 },
    { bdf: '0000:07:00.1', parent: '0000:00:03.0', vendor: 0x8086, device: 0x1572, classCode: 0x020000, revision: 0x02, subsystemVendor: 0x8086, subsystemDevice: 0x0000, pcie: { type: 'endpoint', flr: true, linkSpeed: 3 }, pm: { version: 3, noSoftReset: true }, msi: true, msix: true, aer: true, acs: true, sriov: { totalVfs: 64, numVfs: 0, vfDevice: 0x154c, offset: 0x4f, stride: 1 }, driver: 'i40e', iommuGroup: 17 },
    ...[0, 1, 2, 3].map((i): MockFunction => ({
      bdf: `0000:07:02.${i}`, parent: '0000:00:03.0', physfn: '0000:07:00.0', vendor: 0x8086, device: 0x154c, classCode: 0x020000, revision: 0x02, subsystemVendor: 0x8086, subsystemDevice: 0x0000, pcie: { type: 'endpoint', flr: true, linkSpeed: 3 }, msix: true, driver: 'vfio-pci', iommuGroup: 40 + i,
    })),

    // 08: AMD Radeon RX 480 with its HDA function (the kernel flags AMD VGA NO_PM_RESET: PM reset does nothing).
    { bdf: '0000:08:00.0', parent: '0000:00:1c.0', vendor: 0x1002, device: 0x67df, classCode: 0x030000, revision: 0xc7, subsystemVendor: 0x1043, subsystemDevice: 0x04fb, pcie: { type: 'legacy_endpoint', linkSpeed: 3 }, pm: { version: 3 }, msi: true, aer: true, iommuGroup: 18, flags: { noPm: true } },
    { bdf: '0000:08:00.1', parent: '0000:00:1c.0', vendor: 0x1002, device: 0xaaf0, classCode: 0x040300, subsystemVendor: 0x1043, subsystemDevice: 0xaaf0, pcie: { type: 'legacy_endpoint', linkSpeed: 3 }, pm: { version: 3 }, msi: true, aer: true, driver: 'snd_hda_intel', iommuGroup: 18 },

    // 09: Broadcom MegaRAID SAS-3 3108: no FLR, PM with soft reset, only a bus reset really resets it.
    { bdf: '0000:09:00.0', parent: '0000:00:1c.4', vendor: 0x1000, device: 0x005d, classCode: 0x010400, revision: 0x02, subsystemVendor: 0x15d9, subsystemDevice: 0x0809, pcie: { type: 'endpoint', linkSpeed: 3 }, pm: { version: 3 }, msi: true, msix: true, aer: true, driver: 'megaraid_sas', iommuGroup: 19 },

    // 0a..0b: ASMedia ASM1083 PCIe-to-PCI bridge with a conventional Matrox (BMC VGA) and an Intel NIC with AF FLR.
    { bdf: '0000:0a:00.0', parent: '0000:00:1d.0', vendor: 0x1b21, device: 0x1080, classCode: 0x060401, revision: 0x04, bridge: { secondaryBus: 0x0b, subordinateBus: 0x0b }, pcie: { type: 'pcie_to_pci_bridge', linkSpeed: 1 }, pm: { version: 3 }, iommuGroup: 20 },
    { bdf: '0000:0b:00.0', parent: '0000:0a:00.0', vendor: 0x102b, device: 0x0522, classCode: 0x030000, revision: 0x05, subsystemVendor: 0x15d9, subsystemDevice: 0x095d, pm: { version: 1 }, iommuGroup: 20 },
    { bdf: '0000:0b:01.0', parent: '0000:0a:00.0', vendor: 0x8086, device: 0x107c, classCode: 0x020000, revision: 0x05, subsystemVendor: 0x8086, subsystemDevice: 0x1376, pm: { version: 2 }, af: { tp: true, flr: true }, driver: 'e1000', iommuGroup: 20 },
  ];
}

export function serverTree(): MockTree {
  return new MockTree()
    .addAll(serverFunctions())
    .file('proc/cmdline', 'BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 root=/dev/mapper/vg-root ro intel_iommu=on iommu=pt crashkernel=512M\n');
}
