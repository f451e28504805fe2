/** Short names for common class codes (base << 8 | subclass), enough to read a tree without pci.ids. */
const SUBCLASS: Record<number, string> = {
  0x0100: 'SCSI controller',
  0x0101: 'IDE controller',
  0x0104: 'RAID controller',
  0x0106: 'SATA controller',
  0x0107: 'SAS controller',
  0x0108: 'NVMe controller',
  0x0180: 'Mass storage controller',
  0x0200: 'Ethernet controller',
  0x0207: 'InfiniBand controller',
  0x0280: 'Network controller',
  0x0300: 'VGA controller',
  0x0302: '3D controller',
  0x0380: 'Display controller',
  0x0403: 'Audio device',
  0x0580: 'Memory controller',
  0x0600: 'Host bridge',
  0x0601: 'ISA bridge',
  0x0604: 'PCI bridge',
  0x0607: 'CardBus bridge',
  0x0680: 'Bridge',
  0x0806: 'IOMMU',
  0x0880: 'System peripheral',
  0x0c03: 'USB controller',
  0x0c05: 'SMBus',
  0x0d80: 'Wireless controller',
  0x1180: 'Signal processing controller',
};

const BASE: Record<number, string> = {
  0x01: 'Storage controller',
  0x02: 'Network controller',
  0x03: 'Display controller',
  0x04: 'Multimedia controller',
  0x05: 'Memory controller',
  0x06: 'Bridge',
  0x07: 'Communication controller',
  0x08: 'System peripheral',
  0x0c: 'Serial bus controller',
  0x0d: 'Wireless controller',
  0x12: 'Processing accelerator',
  0xff: 'Unassigned class',
};

export function className(classCode: number): string {
  return SUBCLASS[classCode >> 8] ?? BASE[classCode >> 16] ?? `Class ${(classCode >> 8).toString(16).padStart(4, '0')}`;
}
