import { MockTree, type MockFunction } from '../tree-builder.js';

/**
 * A Tiger Lake laptop: integrated GPU (AF FLR, as Intel IGDs have), Thunderbolt root port with an empty
 * hot-plug slot, CNVi Wi-Fi on the root bus, a Qualcomm Atheros Wi-Fi card (the kernel forbids bus
 * reset on it: config space never comes back), an NVMe SSD, the usual chipset functions.
 */
export function laptopFunctions(): MockFunction[] {
  const sub = { subsystemVendor: 0x17aa, subsystemDevice: 0x22d8 };
  const rc = (bdf: string, device: number, classCode: number, extra: Partial<MockFunction> = {}): MockFunction => ({
    bdf, vendor: 0x8086, device, classCode, revision: 0x01, ...sub, ...extra,
  });
  return [
    rc('0000:00:00.0', 0x9a14, 0x060000, { iommuGroup: 0 }),
    rc('0000:00:02.0', 0x9a49, 0x030000, { pm: { version: 2 }, msi: true, af: { tp: true, flr: true }, driver: 'i915', iommuGroup: 1 }),
    rc('0000:00:04.0', 0x9a03, 0x118000, { pm: { version: 3 }, msi: true, driver: 'proc_thermal', iommuGroup: 2 }),
    rc('0000:00:07.0', 0x9a23, 0x060400, { bridge: { secondaryBus: 0x01, subordinateBus: 0x2b }, pcie: { type: 'root_port', linkSpeed: 1, dllla: true, slot: true, hotPlug: true }, pm: { version: 3 }, msi: true, aer: true, driver: 'pcieport', iommuGroup: 3 }),
    rc('0000:00:0d.0', 0x9a13, 0x0c0330, { pm: { version: 2 }, msi: true, driver: 'xhci_hcd', iommuGroup: 4 }),
    rc('0000:00:14.0', 0xa0ed, 0x0c0330, { revision: 0x20, pm: { version: 2 }, msi: true, driver: 'xhci_hcd', iommuGroup: 5 }),
    rc('0000:00:14.2', 0xa0ef, 0x050000, { revision: 0x20, pm: { version: 3 }, iommuGroup: 5 }),
    rc('0000:00:14.3', 0xa0f0, 0x028000, { revision: 0x20, pcie: { type: 'rc_integrated_endpoint', flr: true }, pm: { version: 3, noSoftReset: true }, msix: true, driver: 'iwlwifi', iommuGroup: 6 }),
    rc('0000:00:16.0', 0xa0e0, 0x078000, { revision: 0x20, pm: { version: 3 }, msi: true, driver: 'mei_me', iommuGroup: 7 }),
    rc('0000:00:1c.0', 0xa0bc, 0x060400, { revision: 0x20, bridge: { secondaryBus: 0x2c, subordinateBus: 0x2c }, pcie: { type: 'root_port', linkSpeed: 3, dllla: true, crsVisibility: true }, pm: { version: 3 }, msi: true, aer: true, driver: 'pcieport', iommuGroup: 8 }),
    rc('0000:00:1d.0', 0xa0b0, 0x060400, { revision: 0x20, bridge: { secondaryBus: 0x2d, subordinateBus: 0x2d }, pcie: { type: 'root_port', linkSpeed: 4, dllla: true, crsVisibility: true }, pm: { version: 3 }, msi: true, aer: true, driver: 'pcieport', iommuGroup: 9 }),
    rc('0000:00:1f.0', 0xa082, 0x060100, { revision: 0x20, iommuGroup: 10 }),
    rc('0000:00:1f.3', 0xa0c8, 0x040380, { revision: 0x20, pm: { version: 3 }, msi: true, driver: 'snd_hda_intel', iommuGroup: 10 }),
    rc('0000:00:1f.4', 0xa0a3, 0x0c0500, { revision: 0x20, driver: 'i801_smbus', iommuGroup: 10 }),
    rc('0000:00:1f.5', 0xa0a4, 0x0c8000, { revision: 0x20, driver: 'intel-spi', iommuGroup: 10 }),
    // Qualcomm Atheros QCA6174 (168c:003e): the kernel sets NO_BUS_RESET on it (quirk_no_bus_reset).
    { bdf: '0000:2c:00.0', parent: '0000:00:1c.0', vendor: 0x168c, device: 0x003e, classCode: 0x028000, revision: 0x32, subsystemVendor: 0x1a56, subsystemDevice: 0x1535, pcie: { type: 'endpoint', linkSpeed: 1 }, pm: { version: 3 }, msi: true, aer: true, driver: 'ath10k_pci', iommuGroup: 11, flags: { noBus: true } },
    { bdf: '0000:2d:00.0', parent: '0000:00:1d.0', vendor: 0x15b7, device: 0x5006, classCode: 0x010802, subsystemVendor: 0x15b7, subsystemDevice: 0x5006, pcie: { type: 'endpoint', flr: true, linkSpeed: 4 }, pm: { version: 3, noSoftReset: true }, msix: true, aer: true, ltr: true, driver: 'nvme', iommuGroup: 12 },
  ];
}

export function laptopTree(): MockTree {
  return new MockTree()
    .addAll(laptopFunctions())
    .file('proc/cmdline', 'BOOT_IMAGE=/boot/vmlinuz-6.12.9-amd64 root=UUID=0b7e0c1e-5a7c-4d51-9b57-4d1b2f9a9b11 ro quiet splash\n');
}
