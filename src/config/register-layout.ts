import { decodeConfig } from './decode.js';
import { findCapability } from './capabilities.js';
import type { PcieType } from './pcie.js';
import { decodeReadinessTimes, PCI_EXT_CAP_ID_RTR, type ReadinessTimes } from './readiness.js';
import * as R from './registers.js';

/**
 * Where the registers that a reset clears live in one function's config space, and which of them the
 * function implements. Pure, from config bytes; the executor saves by it and the simulator models by it.
 */
export interface RegisterLayout {
  headerType: number;
  immediateReadiness: boolean;
  pcie: PcieLayout | null;
  pm: number | null;
  msi: { offset: number; is64: boolean; maskable: boolean } | null;
  msix: number | null;
  af: { offset: number; tp: boolean; flr: boolean } | null;
  aer: number | null;
  acs: number | null;
  ltr: number | null;
  sriov: number | null;
  /** Resizable BAR: capability offset and how many BAR entries (8 bytes each) it has. */
  rebar: { offset: number; count: number } | null;
  /** VF Resizable BAR, the same layout (restored before the VF BARs, sriov_restore_vf_rebar_state()). */
  vfRebar: { offset: number; count: number } | null;
  ats: number | null;
  pasid: number | null;
  pri: number | null;
  dpc: number | null;
  l1ss: number | null;
  ptm: number | null;
  tph: number | null;
  /** Virtual Channel (ID 0x02 or 0x09): offset and how many VC resources (1 + Extended VC Count). */
  vc: { offset: number; count: number } | null;
  /** PCI-X capability (its Command register at +2). */
  pcix: number | null;
  /** Readiness Time Reporting, when the capability is there and says its times are valid. */
  readiness: ReadinessTimes | null;
}

export interface PcieLayout {
  offset: number;
  type: PcieType | null;
  version: number;
  slotImplemented: boolean;
  flr: boolean;
  dllLinkActiveReporting: boolean;
  /** Highest supported link speed (1 = 2.5 GT/s …) as pcie_get_speed_cap() computes it (pcie.ts supportedSpeed()); null: unknown. */
  maxSpeed: number | null;
}

export function registerLayout(bytes: Uint8Array): RegisterLayout | null {
  const d = decodeConfig(bytes);
  if (!d.header) return null;
  const u16 = (o: number): number => (o + 1 < bytes.length ? bytes[o]! | (bytes[o + 1]! << 8) : 0);
  const u32 = (o: number): number => (o + 3 < bytes.length ? (u16(o) | (u16(o + 2) << 16)) >>> 0 : 0);
  let pcie: PcieLayout | null = null;
  if (d.pcie) {
    const off = d.pcie.offset;
    const maxSpeed = d.pcie.supportedSpeed;
    pcie = {
      offset: off,
      type: d.pcie.type,
      version: d.pcie.version,
      slotImplemented: d.pcie.slotImplemented,
      flr: d.pcie.flr,
      dllLinkActiveReporting: d.pcie.dllLinkActiveReporting,
      maxSpeed,
    };
  }
  const msiOff = findCapability(d.capabilities, R.PCI_CAP_ID_MSI);
  const msiFlags = msiOff === null ? 0 : u16(msiOff + R.PCI_MSI_FLAGS);
  const ext = (id: number): number | null => d.extendedCapabilities.find((c) => c.id === id)?.offset ?? null;
  // pci_rebar_get_ctrl count (PCI_REBAR_CTRL_NBAR_MASK): 1..6 entries of 8 bytes; a bad count is clamped.
  const rebarOf = (id: number): { offset: number; count: number } | null => {
    const o = ext(id);
    if (o === null) return null;
    const n = (u32(o + R.PCI_REBAR_CTRL) & R.PCI_REBAR_CTRL_NBAR_MASK) >>> R.PCI_REBAR_CTRL_NBAR_SHIFT;
    return { offset: o, count: Math.min(6, Math.max(1, n)) };
  };
  const vcOff = ext(R.PCI_EXT_CAP_ID_VC) ?? ext(R.PCI_EXT_CAP_ID_VC9);
  return {
    headerType: d.header.headerType,
    immediateReadiness: d.header.immediateReadiness,
    pcie,
    pm: d.pm ? d.pm.offset : null,
    msi: msiOff === null ? null : { offset: msiOff, is64: (msiFlags & R.PCI_MSI_FLAGS_64BIT) !== 0, maskable: (msiFlags & R.PCI_MSI_FLAGS_MASKBIT) !== 0 },
    msix: findCapability(d.capabilities, R.PCI_CAP_ID_MSIX),
    af: d.af ? { offset: d.af.offset, tp: d.af.tp, flr: d.af.flr } : null,
    aer: ext(R.PCI_EXT_CAP_ID_ERR),
    acs: ext(R.PCI_EXT_CAP_ID_ACS),
    ltr: ext(R.PCI_EXT_CAP_ID_LTR),
    sriov: ext(R.PCI_EXT_CAP_ID_SRIOV),
    rebar: rebarOf(R.PCI_EXT_CAP_ID_REBAR),
    vfRebar: rebarOf(R.PCI_EXT_CAP_ID_VF_REBAR),
    ats: ext(R.PCI_EXT_CAP_ID_ATS),
    pasid: ext(R.PCI_EXT_CAP_ID_PASID),
    pri: ext(R.PCI_EXT_CAP_ID_PRI),
    dpc: ext(R.PCI_EXT_CAP_ID_DPC),
    l1ss: ext(R.PCI_EXT_CAP_ID_L1SS),
    ptm: ext(R.PCI_EXT_CAP_ID_PTM),
    tph: ext(R.PCI_EXT_CAP_ID_TPH),
    vc: vcOff === null ? null : { offset: vcOff, count: 1 + (u32(vcOff + R.PCI_VC_PORT_CAP1) & R.PCI_VC_CAP1_EVCC) },
    pcix: findCapability(d.capabilities, R.PCI_CAP_ID_PCIX),
    readiness: readinessOf(ext(PCI_EXT_CAP_ID_RTR), u32),
  };
}

function readinessOf(o: number | null, u32: (o: number) => number): ReadinessTimes | null {
  if (o === null) return null;
  const t = decodeReadinessTimes(u32(o + 4), u32(o + 8));
  return t.valid ? t : null;
}

/** The kernel's pcie_cap_has_lnkctl(): every type with a link of its own (not RC-integrated ones). */
export function pcieHasLink(p: PcieLayout): boolean {
  return p.type !== null && p.type !== 'rc_integrated_endpoint' && p.type !== 'rc_event_collector';
}

/**
 * The kernel's pcie_capability_reg_implemented() for the control registers pci_save_pcie_state() keeps:
 * a register the function does not implement is neither saved nor written.
 */
export function pcieRegisterImplemented(p: PcieLayout, reg: number): boolean {
  const downstream = p.type === 'root_port' || p.type === 'downstream_port' || p.type === 'pci_to_pcie_bridge';
  const slot = downstream && p.slotImplemented;
  switch (reg) {
    case R.PCI_EXP_DEVCTL:
      return true;
    case R.PCI_EXP_LNKCTL:
      return pcieHasLink(p);
    case R.PCI_EXP_SLTCTL:
      return slot;
    case R.PCI_EXP_RTCTL:
      return p.type === 'root_port' || p.type === 'rc_event_collector';
    case R.PCI_EXP_DEVCTL2:
      return p.version > 1;
    case R.PCI_EXP_LNKCTL2:
      return p.version > 1 && pcieHasLink(p);
    case R.PCI_EXP_SLTCTL2:
      return p.version > 1 && slot;
    default:
      return false;
  }
}
