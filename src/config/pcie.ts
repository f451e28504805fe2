import { ConfigBytes, hexOffset } from './config-bytes.js';
import * as R from './registers.js';

export type PcieType =
  | 'endpoint'
  | 'legacy_endpoint'
  | 'rc_integrated_endpoint'
  | 'rc_event_collector'
  | 'root_port'
  | 'upstream_port'
  | 'downstream_port'
  | 'pcie_to_pci_bridge'
  | 'pci_to_pcie_bridge';

const TYPES: Record<number, PcieType> = {
  [R.PCI_EXP_TYPE_ENDPOINT]: 'endpoint',
  [R.PCI_EXP_TYPE_LEG_END]: 'legacy_endpoint',
  [R.PCI_EXP_TYPE_ROOT_PORT]: 'root_port',
  [R.PCI_EXP_TYPE_UPSTREAM]: 'upstream_port',
  [R.PCI_EXP_TYPE_DOWNSTREAM]: 'downstream_port',
  [R.PCI_EXP_TYPE_PCI_BRIDGE]: 'pcie_to_pci_bridge',
  [R.PCI_EXP_TYPE_PCIE_BRIDGE]: 'pci_to_pcie_bridge',
  [R.PCI_EXP_TYPE_RC_END]: 'rc_integrated_endpoint',
  [R.PCI_EXP_TYPE_RC_EC]: 'rc_event_collector',
};

export interface PcieCap {
  offset: number;
  version: number;
  type: PcieType | null;
  slotImplemented: boolean;
  /** SltCap bit 6 on a port with a slot: pciehp may own the link, so a raw bus reset looks like a surprise removal. */
  hotPlugCapable: boolean;
  devCap: number;
  /** DevCap bit 28: Function Level Reset capable. */
  flr: boolean;
  devCtl: number;
  devSta: number;
  /** DevSta bit 5: the function still has non-posted requests outstanding. */
  transactionsPending: boolean;
  lnkCap: number | null;
  /** LnkCap bit 20: the port reports Data Link Layer Link Active. */
  dllLinkActiveReporting: boolean;
  /** LnkCap bits 3:0 (1 = 2.5 GT/s, 2 = 5, 3 = 8, 4 = 16, 5 = 32, 6 = 64). */
  maxLinkSpeed: number | null;
  /** LnkCap2 (PCIe 2.0+ capability version, functions with a link); null when not implemented. */
  lnkCap2: number | null;
  /**
   * The highest supported link speed as the kernel computes it (supportedSpeed()), or null when the
   * kernel's answer is PCI_SPEED_UNKNOWN.
   */
  supportedSpeed: number | null;
  lnkSta: number | null;
  /** LnkSta bit 13. */
  dllLinkActive: boolean;
  currentLinkSpeed: number | null;
  /** RtCap bit 0: the root port can return CRS/RRS to software; null when not a root port. */
  crsVisibilityCapable: boolean | null;
  /** RtCtl bit 4: CRS Software Visibility enabled (pci_dev_wait then polls for vendor 0x0001). */
  crsVisibilityEnabled: boolean | null;
}

/**
 * The PCI Express capability. DevCap/DevCtl/DevSta are always there; link registers exist for
 * functions with a link; root registers only on root ports and event collectors.
 */
export function decodePcie(cfg: ConfigBytes, offset: number, problems: string[]): PcieCap | null {
  const flags = cfg.u16(offset + R.PCI_EXP_FLAGS);
  const devCap = cfg.u32(offset + R.PCI_EXP_DEVCAP);
  const devCtl = cfg.u16(offset + R.PCI_EXP_DEVCTL);
  const devSta = cfg.u16(offset + R.PCI_EXP_DEVSTA);
  if (flags === null || devCap === null || devCtl === null || devSta === null) {
    problems.push(`PCI Express capability at ${hexOffset(offset)} is cut off by the end of readable config`);
    return null;
  }
  const typeCode = (flags & R.PCI_EXP_FLAGS_TYPE) >> 4;
  const type = TYPES[typeCode] ?? null;
  if (type === null) problems.push(`unknown PCI Express device/port type ${typeCode}`);
  const lnkCap = cfg.u32(offset + R.PCI_EXP_LNKCAP);
  const lnkSta = cfg.u16(offset + R.PCI_EXP_LNKSTA);
  const version = flags & R.PCI_EXP_FLAGS_VERS;
  const hasLink = type !== null && type !== 'rc_integrated_endpoint' && type !== 'rc_event_collector';
  const lnkCap2 = version > 1 && hasLink ? cfg.u32(offset + R.PCI_EXP_LNKCAP2) : null;
  const isRoot = type === 'root_port' || type === 'rc_event_collector';
  const rtCap = isRoot ? cfg.u16(offset + R.PCI_EXP_RTCAP) : null;
  const rtCtl = isRoot ? cfg.u16(offset + R.PCI_EXP_RTCTL) : null;
  return {
    offset,
    version,
    type,
    slotImplemented: (flags & R.PCI_EXP_FLAGS_SLOT) !== 0,
    hotPlugCapable: (flags & R.PCI_EXP_FLAGS_SLOT) !== 0 && ((cfg.u32(offset + R.PCI_EXP_SLTCAP) ?? 0) & R.PCI_EXP_SLTCAP_HPC) !== 0,
    devCap,
    flr: (devCap & R.PCI_EXP_DEVCAP_FLR) !== 0,
    devCtl,
    devSta,
    transactionsPending: (devSta & R.PCI_EXP_DEVSTA_TRPND) !== 0,
    lnkCap,
    dllLinkActiveReporting: lnkCap !== null && (lnkCap & R.PCI_EXP_LNKCAP_DLLLARC) !== 0,
    maxLinkSpeed: lnkCap === null ? null : lnkCap & R.PCI_EXP_LNKCAP_SLS,
    lnkCap2,
    supportedSpeed: supportedSpeed(hasLink ? lnkCap : null, lnkCap2),
    lnkSta,
    dllLinkActive: lnkSta !== null && (lnkSta & R.PCI_EXP_LNKSTA_DLLLA) !== 0,
    currentLinkSpeed: lnkSta === null ? null : lnkSta & R.PCI_EXP_LNKSTA_CLS,
    crsVisibilityCapable: rtCap === null ? null : (rtCap & R.PCI_EXP_RTCAP_RRS_SV) !== 0,
    crsVisibilityEnabled: rtCtl === null ? null : (rtCtl & R.PCI_EXP_RTCTL_RRS_SVE) !== 0,
  };
}

/** A port below which a secondary bus reset lands (the kernel's pcie_downstream_port()). */
export function isDownstreamPort(type: PcieType | null): boolean {
  return type === 'root_port' || type === 'downstream_port' || type === 'pci_to_pcie_bridge';
}

/**
 * The highest link speed a port supports, as the kernel decides it: pcie_get_supported_speeds()
 * (drivers/pci/pci.c:6070, Linux 6.18.19) takes LnkCap2's Supported Link Speeds Vector masked by
 * GENMASK(LnkCap Max Link Speed, 0) ("Ignore speeds higher than Max Link Speed"), and only when that is
 * empty synthesizes 2.5 or 5 GT/s from LnkCap; pcie_get_speed_cap() (pci.c:6107) turns the vector's top
 * bit into a speed. Returns the speed code (1 = 2.5 GT/s, 2 = 5, 3 = 8 …) or null for the kernel's
 * PCI_SPEED_UNKNOWN, which compares greater than PCIE_SPEED_5_0GT: pci_bridge_wait_for_secondary_bus()
 * then takes its faster-than-5-GT/s path (wait for the link). One function for planner and executor.
 */
export function supportedSpeed(lnkCap: number | null, lnkCap2: number | null): number | null {
  if (lnkCap === null) return null;
  const max = lnkCap & R.PCI_EXP_LNKCAP_SLS;
  let speeds = (lnkCap2 ?? 0) & R.PCI_EXP_LNKCAP2_SLS;
  speeds &= max >= 31 ? 0xff : (1 << (max + 1)) - 1;
  if (speeds) return 31 - Math.clz32(speeds);
  if (max === 2) return 2;
  if (max === 1) return 1;
  return null;
}

/** pci_bridge_wait_for_secondary_bus()'s test pcie_get_speed_cap(dev) <= PCIE_SPEED_5_0GT (pci.c:4868); unknown is not. */
export function atMost5GT(speed: number | null): boolean {
  return speed !== null && speed <= 2;
}
