import type { ScanDevice } from '../scan/scan-result.js';

/**
 * Chelsio T4 (vendor 0x1425, (device & 0xf000) == 0x4000): reset_chelsio_generic_dev()
 * (drivers/pci/quirks.c:4020, Linux 6.18.19) keeps Bus Master on and MSI-X enabled with every vector
 * masked around its FLR because "T4 can wedge if there are DMAs in flight within the chip and Bus Master
 * has been disabled". A plain FLR, raw or the kernel's `flr`/`af_flr` (pcie_flr() after
 * pci_dev_save_and_disable() has cleared Bus Master), is exactly what wedges it. Returns why, or null.
 */
export function chelsioT4(d: ScanDevice): string | null {
  if (d.vendor === null || d.device === null) return null;
  const vendor = parseInt(d.vendor, 16);
  const device = parseInt(d.device, 16);
  if (vendor !== 0x1425 || (device & 0xf000) !== 0x4000) return null;
  return `Chelsio T4 ${d.vendor.replace(/^0x/, '')}:${d.device.replace(/^0x/, '')}: a plain FLR clears Bus Master first, and "T4 can wedge if there are DMAs in flight within the chip and Bus Master has been disabled" (reset_chelsio_generic_dev(), drivers/pci/quirks.c:4020, keeps Bus Master and MSI-X on around its FLR); only the kernel's device_specific reset does that`;
}
