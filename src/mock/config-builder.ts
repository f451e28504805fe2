import type { PcieType } from '../config/pcie.js';
import * as R from '../config/registers.js';
import { parseBdf } from '../pci/bdf.js';

/** What a mock function's config space holds. Offsets follow a common layout so lspci and our decoder can be compared. */
export interface ConfigSpec {
  bdf: string;
  vendor: number;
  device: number;
  classCode: number;
  revision?: number;
  subsystemVendor?: number;
  subsystemDevice?: number;
  multiFunction?: boolean;
  /** Type-1 header with these bus numbers. */
  bridge?: { primaryBus?: number; secondaryBus: number; subordinateBus: number; bridgeControl?: number };
  /** PCI Express capability. */
  pcie?: {
    type: PcieType;
    flr?: boolean;
    /** 1 = 2.5 GT/s … 5 = 32 GT/s. */
    linkSpeed?: number;
    /** LnkCap DLL Link Active Reporting (ports); the link then reads as up. */
    dllla?: boolean;
    /** Root port: CRS Software Visibility capable and enabled. */
    crsVisibility?: boolean;
    slot?: boolean;
    /** SltCap Hot-Plug Capable (a port whose slot pciehp would manage). */
    hotPlug?: boolean;
    transactionsPending?: boolean;
  };
  /** A CXL Port DVSEC (vendor 0x1E98, ID 3) with "Unmask SBR" as given. */
  cxlPort?: { unmaskSbr: boolean };
  /** PM capability; `version` above 3 makes the kernel ignore it. */
  pm?: { version?: number; noSoftReset?: boolean; powerState?: number };
  /** Advanced Features capability (conventional PCI FLR). */
  af?: { tp: boolean; flr: boolean };
  msi?: boolean;
  msix?: boolean;
  aer?: boolean;
  acs?: boolean;
  ltr?: boolean;
  sriov?: { totalVfs: number; numVfs: number; vfDevice: number; offset: number; stride: number };
  /** An SR-IOV VF: Vendor and Device ID read 0xFFFF, as the spec says. */
  isVf?: boolean;
  immediateReadiness?: boolean;
  /** Command register; defaults to memory + bus master when a driver is bound. */
  command?: number;
}

/** Standard layout: where each capability goes when present. */
export const LAYOUT = {
  pm: 0x40,
  msi: 0x50,
  pcie: 0x70,
  msix: 0xb0,
  af: 0xc0,
  aer: 0x100,
  acs: 0x148,
  ltr: 0x158,
  sriov: 0x160,
  dvsec: 0x1a0,
} as const;

const TYPE_CODES: Record<PcieType, number> = {
  endpoint: R.PCI_EXP_TYPE_ENDPOINT,
  legacy_endpoint: R.PCI_EXP_TYPE_LEG_END,
  root_port: R.PCI_EXP_TYPE_ROOT_PORT,
  upstream_port: R.PCI_EXP_TYPE_UPSTREAM,
  downstream_port: R.PCI_EXP_TYPE_DOWNSTREAM,
  pcie_to_pci_bridge: R.PCI_EXP_TYPE_PCI_BRIDGE,
  pci_to_pcie_bridge: R.PCI_EXP_TYPE_PCIE_BRIDGE,
  rc_integrated_endpoint: R.PCI_EXP_TYPE_RC_END,
  rc_event_collector: R.PCI_EXP_TYPE_RC_EC,
};

class Bytes {
  constructor(readonly b: Uint8Array) {}
  u8(o: number, v: number): void {
    this.b[o] = v & 0xff;
  }
  u16(o: number, v: number): void {
    this.u8(o, v);
    this.u8(o + 1, v >> 8);
  }
  u32(o: number, v: number): void {
    this.u16(o, v & 0xffff);
    this.u16(o + 2, (v >>> 16) & 0xffff);
  }
}

/**
 * Config bytes for a spec: 4096 bytes for PCI Express functions, 256 for conventional ones, the way the
 * kernel sizes `config` (cfg_size). Capabilities are chained in LAYOUT order.
 */
export function buildConfig(spec: ConfigSpec): Uint8Array {
  const size = spec.pcie ? R.PCI_CFG_SPACE_EXP_SIZE : R.PCI_CFG_SPACE_SIZE;
  const w = new Bytes(new Uint8Array(size));
  const addr = parseBdf(spec.bdf)!;
  w.u16(R.PCI_VENDOR_ID, spec.isVf ? 0xffff : spec.vendor);
  w.u16(R.PCI_DEVICE_ID, spec.isVf ? 0xffff : spec.device);
  w.u16(R.PCI_COMMAND, spec.command ?? 0);
  w.u8(R.PCI_REVISION_ID, spec.revision ?? 0);
  w.u8(R.PCI_CLASS_PROG, spec.classCode & 0xff);
  w.u16(0x0a, spec.classCode >> 8);
  const type = spec.bridge ? R.PCI_HEADER_TYPE_BRIDGE : R.PCI_HEADER_TYPE_NORMAL;
  w.u8(R.PCI_HEADER_TYPE, type | (spec.multiFunction ? R.PCI_HEADER_TYPE_MFD : 0));
  if (spec.bridge) {
    w.u8(R.PCI_PRIMARY_BUS, spec.bridge.primaryBus ?? addr.bus);
    w.u8(R.PCI_SECONDARY_BUS, spec.bridge.secondaryBus);
    w.u8(R.PCI_SUBORDINATE_BUS, spec.bridge.subordinateBus);
    w.u16(R.PCI_BRIDGE_CONTROL, spec.bridge.bridgeControl ?? 0x0010);
  } else {
    // A memory BAR the BIOS would have assigned, so save/restore has something to lose.
    w.u32(0x10, (0xe0000000 | (addr.bus << 20) | (addr.dev << 15) | (addr.fn << 12)) >>> 0);
    w.u16(R.PCI_SUBSYSTEM_VENDOR_ID, spec.subsystemVendor ?? 0);
    w.u16(R.PCI_SUBSYSTEM_ID, spec.subsystemDevice ?? 0);
    w.u8(0x3d, 1); // interrupt pin INTA
  }

  const chain: [number, number][] = [];
  if (spec.pm) chain.push([LAYOUT.pm, R.PCI_CAP_ID_PM]);
  if (spec.msi) chain.push([LAYOUT.msi, R.PCI_CAP_ID_MSI]);
  if (spec.pcie) chain.push([LAYOUT.pcie, R.PCI_CAP_ID_EXP]);
  if (spec.msix) chain.push([LAYOUT.msix, R.PCI_CAP_ID_MSIX]);
  if (spec.af) chain.push([LAYOUT.af, R.PCI_CAP_ID_AF]);
  let status = spec.immediateReadiness ? R.PCI_STATUS_IMM_READY : 0;
  if (chain.length) {
    status |= R.PCI_STATUS_CAP_LIST;
    w.u8(R.PCI_CAPABILITY_LIST, chain[0]![0]);
    chain.forEach(([off, id], i) => {
      w.u8(off, id);
      w.u8(off + 1, chain[i + 1]?.[0] ?? 0);
    });
  }
  w.u16(R.PCI_STATUS, status);

  if (spec.pm) {
    const pm = spec.pm;
    // PMC: version, D1/D2 unsupported, PME from D0/D3hot.
    w.u16(LAYOUT.pm + R.PCI_PM_PMC, (pm.version ?? 3) | 0x4800);
    w.u16(LAYOUT.pm + R.PCI_PM_CTRL, (pm.noSoftReset ? R.PCI_PM_CTRL_NO_SOFT_RESET : 0) | (pm.powerState ?? 0));
  }
  if (spec.msi) w.u16(LAYOUT.msi + 2, 0x0180); // 64-bit, per-vector masking, disabled
  if (spec.msix) {
    w.u16(LAYOUT.msix + 2, 0x003f); // 64 vectors, disabled
    w.u32(LAYOUT.msix + 4, 0x00002000);
    w.u32(LAYOUT.msix + 8, 0x00003000);
  }
  if (spec.af) {
    w.u8(LAYOUT.af + 2, 6); // length
    w.u8(LAYOUT.af + R.PCI_AF_CAP, (spec.af.tp ? R.PCI_AF_CAP_TP : 0) | (spec.af.flr ? R.PCI_AF_CAP_FLR : 0));
  }
  if (spec.pcie) writePcie(w, spec);

  const ext: [number, number, number][] = [];
  if (spec.pcie) {
    if (spec.aer) ext.push([LAYOUT.aer, R.PCI_EXT_CAP_ID_ERR, 2]);
    if (spec.acs) ext.push([LAYOUT.acs, R.PCI_EXT_CAP_ID_ACS, 1]);
    if (spec.ltr) ext.push([LAYOUT.ltr, R.PCI_EXT_CAP_ID_LTR, 1]);
    if (spec.sriov) ext.push([LAYOUT.sriov, R.PCI_EXT_CAP_ID_SRIOV, 1]);
    if (spec.cxlPort) ext.push([LAYOUT.dvsec, R.PCI_EXT_CAP_ID_DVSEC, 1]);
  }
  // The extended list must start at 0x100: when the first capability sits elsewhere, a Null capability
  // (ID 0, as real devices use) there points to it.
  if (ext.length && ext[0]![0] !== LAYOUT.aer) ext.unshift([LAYOUT.aer, 0, 0]);
  ext.forEach(([off, id, ver], i) => {
    const next = ext[i + 1]?.[0] ?? 0;
    w.u32(off, (id | (ver << 16) | (next << 20)) >>> 0);
  });
  if (spec.acs) w.u16(LAYOUT.acs + 4, 0x001f); // SV, TB, RR, CR, UF
  if (spec.cxlPort) {
    w.u32(LAYOUT.dvsec + R.PCI_DVSEC_HEADER1, (R.PCI_VENDOR_ID_CXL | (0x28 << 20)) >>> 0); // vendor, rev 0, length 0x28
    w.u16(LAYOUT.dvsec + R.PCI_DVSEC_HEADER2, R.CXL_DVSEC_PORT);
    w.u16(LAYOUT.dvsec + 0x0c, spec.cxlPort.unmaskSbr ? 1 : 0); // PORT_CTL
  }
  if (spec.sriov) {
    const s = spec.sriov;
    w.u32(LAYOUT.sriov + 4, 0x00000000); // SR-IOV capabilities
    w.u16(LAYOUT.sriov + 8, s.numVfs > 0 ? 0x0019 : 0x0000); // VF Enable, VF MSE, ARI hierarchy
    w.u16(LAYOUT.sriov + 0x0c, s.totalVfs); // InitialVFs
    w.u16(LAYOUT.sriov + 0x0e, s.totalVfs); // TotalVFs
    w.u16(LAYOUT.sriov + 0x10, s.numVfs); // NumVFs
    w.u16(LAYOUT.sriov + 0x14, s.offset); // First VF Offset
    w.u16(LAYOUT.sriov + 0x16, s.stride); // VF Stride
    w.u16(LAYOUT.sriov + 0x1a, s.vfDevice); // VF Device ID
  }
  return w.b;
}

function writePcie(w: Bytes, spec: ConfigSpec): void {
  const p = spec.pcie!;
  const c = LAYOUT.pcie;
  const isPort = p.type === 'root_port' || p.type === 'downstream_port';
  const hasLink = p.type !== 'rc_integrated_endpoint' && p.type !== 'rc_event_collector';
  w.u16(c + R.PCI_EXP_FLAGS, 2 | (TYPE_CODES[p.type] << 4) | (p.slot || (isPort && p.slot !== false) ? R.PCI_EXP_FLAGS_SLOT : 0));
  // DevCap: MPS 256, extended tags, role-based error reporting, FLR when asked.
  w.u32(c + R.PCI_EXP_DEVCAP, (0x00008021 | (p.flr ? R.PCI_EXP_DEVCAP_FLR : 0)) >>> 0);
  w.u16(c + R.PCI_EXP_DEVCTL, 0x2810);
  w.u16(c + R.PCI_EXP_DEVSTA, p.transactionsPending ? R.PCI_EXP_DEVSTA_TRPND : 0);
  if (hasLink) {
    const speed = p.linkSpeed ?? 3;
    const portNumber = parseBdf(spec.bdf)!.dev;
    w.u32(c + R.PCI_EXP_LNKCAP, ((portNumber << 24) | (p.dllla ? R.PCI_EXP_LNKCAP_DLLLARC : 0) | (1 << 4) | speed) >>> 0);
    w.u16(c + R.PCI_EXP_LNKCTL, 0x0040); // common clock
    w.u16(c + R.PCI_EXP_LNKSTA, (p.dllla ? R.PCI_EXP_LNKSTA_DLLLA : 0) | (1 << 4) | speed);
    w.u32(c + R.PCI_EXP_LNKCAP2, ((1 << (speed + 1)) - 2) >>> 0); // supported speeds vector up to `speed`
    w.u16(c + R.PCI_EXP_LNKCTL2, speed);
  }
  if (isPort && (p.slot ?? true)) {
    w.u32(c + R.PCI_EXP_SLTCAP, (((parseBdf(spec.bdf)!.dev + 1) << 19) | (p.hotPlug ? R.PCI_EXP_SLTCAP_HPC : 0)) >>> 0);
  }
  if (p.type === 'root_port') {
    w.u16(c + R.PCI_EXP_RTCAP, p.crsVisibility ? R.PCI_EXP_RTCAP_RRS_SV : 0);
    w.u16(c + R.PCI_EXP_RTCTL, p.crsVisibility ? R.PCI_EXP_RTCTL_RRS_SVE : 0);
  }
  w.u32(c + R.PCI_EXP_DEVCAP2, 0x0000001f);
  w.u16(c + R.PCI_EXP_DEVCTL2, 0x0005);
}
