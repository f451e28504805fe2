import { pcieHasLink, pcieRegisterImplemented, registerLayout, type RegisterLayout } from '../config/register-layout.js';
import * as R from '../config/registers.js';

/**
 * Which bits of a function's config space software can change, which clear when written with 1, and
 * what they read after a reset (power-on values). Bytes not described here are read-only: IDs,
 * capability headers and pointers, vendor-specific areas.
 *
 * Sticky (RWS) bits such as the AER masks are modelled as cleared by every reset: the worst case for a
 * restore, so that a missed register shows up in tests.
 */
export interface RegisterModel {
  layout: RegisterLayout | null;
  rw: Uint8Array;
  w1c: Uint8Array;
  powerOn: Uint8Array;
}

/** PCIe r6.0 7.5.3.4 defaults: Relaxed Ordering, No Snoop, Max Read Request 512 bytes. */
const DEVCTL_POWER_ON = 0x2810;
/** AER defaults (PCIe r6.0 7.8.4.4 and 7.8.4.6): severity of DLP, SDES, FCP, RX overflow, malformed TLP, and the Advisory Non-Fatal mask. */
const AER_SEVER_POWER_ON = 0x00462030;
const AER_COR_MASK_POWER_ON = 0x00002000;

class Bits {
  constructor(readonly b: Uint8Array) {}
  set(offset: number, width: number, value: number): void {
    for (let i = 0; i < width && offset + i < this.b.length; i++) this.b[offset + i] = (value >>> (8 * i)) & 0xff;
  }
}

/**
 * `resource` lines give BAR sizes (end - start + 1); without them a memory BAR is taken as 4 KiB and
 * an I/O BAR as 256 bytes. Returns the writable mask per BAR index.
 */
function barMasks(config: Uint8Array, count: number, resource: string | null): number[] {
  const lines = (resource ?? '').split('\n');
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = R.PCI_BASE_ADDRESS_0 + 4 * i;
    const v = (config[o]! | (config[o + 1]! << 8) | (config[o + 2]! << 16) | (config[o + 3]! << 24)) >>> 0;
    if (out[i] !== undefined) continue;
    if (v === 0) {
      out[i] = 0;
      continue;
    }
    const io = (v & R.PCI_BASE_ADDRESS_SPACE_IO) !== 0;
    const parts = lines[i]?.trim().split(/\s+/) ?? [];
    let size = 0;
    if (parts.length >= 2) {
      const start = BigInt(parts[0]!);
      const end = BigInt(parts[1]!);
      if (end > start) size = Number(end - start + 1n);
    }
    if (size === 0) size = io ? 0x100 : 0x1000;
    const low = io ? 0x3 : 0xf;
    out[i] = (~(Math.max(size, low + 1) - 1) & ~low) >>> 0;
    if (!io && (v & 0x6) === R.PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < count) out[i + 1] = 0xffffffff;
  }
  return out;
}

export function buildRegisterModel(config: Uint8Array, resource: string | null = null): RegisterModel {
  const size = config.length;
  const rwBytes = new Uint8Array(size);
  const w1cBytes = new Uint8Array(size);
  const defaults = new Uint8Array(size);
  const rw = new Bits(rwBytes);
  const w1c = new Bits(w1cBytes);
  const def = new Bits(defaults);
  const layout = size >= R.PCI_STD_HEADER_SIZEOF ? registerLayout(config) : null;

  if (layout) {
    rw.set(R.PCI_COMMAND, 2, 0x07ff);
    w1c.set(R.PCI_STATUS, 2, 0xf900);
    rw.set(R.PCI_CACHE_LINE_SIZE, 2, 0xffff);
    rw.set(R.PCI_INTERRUPT_LINE, 1, 0xff);
    const romOff = layout.headerType === R.PCI_HEADER_TYPE_BRIDGE ? R.PCI_ROM_ADDRESS1 : R.PCI_ROM_ADDRESS;
    const rom = config[romOff]! | (config[romOff + 1]! << 8) | (config[romOff + 2]! << 16) | (config[romOff + 3]! << 24);
    if (rom !== 0) rw.set(romOff, 4, 0xfffff801);
    if (layout.headerType === R.PCI_HEADER_TYPE_NORMAL) {
      barMasks(config, 6, resource).forEach((m, i) => rw.set(R.PCI_BASE_ADDRESS_0 + 4 * i, 4, m));
    } else if (layout.headerType === R.PCI_HEADER_TYPE_BRIDGE) {
      barMasks(config, 2, resource).forEach((m, i) => rw.set(R.PCI_BASE_ADDRESS_0 + 4 * i, 4, m));
      rw.set(R.PCI_PRIMARY_BUS, 4, 0xffffffff); // primary, secondary, subordinate, secondary latency
      rw.set(R.PCI_IO_BASE, 2, 0xf0f0);
      w1c.set(R.PCI_SEC_STATUS, 2, 0xf900);
      rw.set(R.PCI_MEMORY_BASE, 4, 0xfff0fff0);
      rw.set(R.PCI_PREF_MEMORY_BASE, 4, 0xfff0fff0);
      rw.set(R.PCI_PREF_BASE_UPPER32, 4, 0xffffffff); // prefetchable base upper 32 bits
      rw.set(R.PCI_PREF_BASE_UPPER32 + 4, 4, 0xffffffff); // prefetchable limit upper 32 bits
      rw.set(R.PCI_IO_BASE_UPPER16, 4, 0xffffffff);
      rw.set(R.PCI_BRIDGE_CONTROL, 2, 0x0fff);
    }
    if (layout.pm !== null) {
      rw.set(layout.pm + R.PCI_PM_CTRL, 2, R.PCI_PM_CTRL_STATE_MASK | R.PCI_PM_CTRL_PME_ENABLE);
      w1c.set(layout.pm + R.PCI_PM_CTRL, 2, R.PCI_PM_CTRL_PME_STATUS);
    }
    if (layout.msi) {
      const m = layout.msi;
      rw.set(m.offset + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_ENABLE | R.PCI_MSI_FLAGS_QSIZE);
      rw.set(m.offset + R.PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
      if (m.is64) rw.set(m.offset + R.PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
      rw.set(m.offset + (m.is64 ? R.PCI_MSI_DATA_64 : R.PCI_MSI_DATA_32), 2, 0xffff);
      if (m.maskable) rw.set(m.offset + (m.is64 ? R.PCI_MSI_MASK_64 : R.PCI_MSI_MASK_32), 4, 0xffffffff);
    }
    if (layout.msix !== null) rw.set(layout.msix + R.PCI_MSIX_FLAGS, 2, R.PCI_MSIX_FLAGS_ENABLE | R.PCI_MSIX_FLAGS_MASKALL);
    if (layout.pcie) {
      const p = layout.pcie;
      const o = p.offset;
      rw.set(o + R.PCI_EXP_DEVCTL, 2, 0x7fff); // bit 15 (Initiate FLR) always reads 0; the simulator acts on it
      def.set(o + R.PCI_EXP_DEVCTL, 2, DEVCTL_POWER_ON);
      w1c.set(o + R.PCI_EXP_DEVSTA, 2, 0x000f);
      if (pcieHasLink(p)) {
        rw.set(o + R.PCI_EXP_LNKCTL, 2, 0x0fff & ~R.PCI_EXP_LNKCTL_RL);
        w1c.set(o + R.PCI_EXP_LNKSTA, 2, 0xc000);
      }
      if (pcieRegisterImplemented(p, R.PCI_EXP_SLTCTL)) {
        rw.set(o + R.PCI_EXP_SLTCTL, 2, 0x1fff);
        w1c.set(o + R.PCI_EXP_SLTSTA, 2, 0x011f);
      }
      if (pcieRegisterImplemented(p, R.PCI_EXP_RTCTL)) rw.set(o + R.PCI_EXP_RTCTL, 2, 0x001f);
      if (pcieRegisterImplemented(p, R.PCI_EXP_DEVCTL2)) rw.set(o + R.PCI_EXP_DEVCTL2, 2, 0xffff);
      if (pcieRegisterImplemented(p, R.PCI_EXP_LNKCTL2)) {
        rw.set(o + R.PCI_EXP_LNKCTL2, 2, 0xffff);
        def.set(o + R.PCI_EXP_LNKCTL2, 2, (p.maxSpeed ?? 0) & 0xf);
      }
      if (pcieRegisterImplemented(p, R.PCI_EXP_SLTCTL2)) rw.set(o + R.PCI_EXP_SLTCTL2, 2, 0xffff);
    }
    if (layout.aer !== null) {
      const a = layout.aer;
      w1c.set(a + R.PCI_ERR_UNCOR_STATUS, 4, 0xffffffff);
      rw.set(a + R.PCI_ERR_UNCOR_MASK, 4, 0xffffffff);
      rw.set(a + R.PCI_ERR_UNCOR_SEVER, 4, 0xffffffff);
      def.set(a + R.PCI_ERR_UNCOR_SEVER, 4, AER_SEVER_POWER_ON);
      w1c.set(a + R.PCI_ERR_COR_STATUS, 4, 0xffffffff);
      rw.set(a + R.PCI_ERR_COR_MASK, 4, 0xffffffff);
      def.set(a + R.PCI_ERR_COR_MASK, 4, AER_COR_MASK_POWER_ON);
      rw.set(a + R.PCI_ERR_CAP, 4, 0x00000540);
      if (layout.pcie?.type === 'root_port' || layout.pcie?.type === 'rc_event_collector') {
        rw.set(a + R.PCI_ERR_ROOT_COMMAND, 4, 0x7);
        w1c.set(a + R.PCI_ERR_ROOT_STATUS, 4, 0x7f);
      }
    }
    if (layout.acs !== null) rw.set(layout.acs + R.PCI_ACS_CTRL, 2, 0x007f);
    if (layout.ltr !== null) {
      rw.set(layout.ltr + R.PCI_LTR_MAX_SNOOP_LAT, 2, 0x1fff);
      rw.set(layout.ltr + R.PCI_LTR_MAX_NOSNOOP_LAT, 2, 0x1fff);
    }
    // Extended state a reset clears and pci_restore_state() puts back (issue 12 item 3): every one of
    // these is writable and back at 0 after a reset, so a restore that misses one shows.
    if (layout.rebar) for (let i = 0; i < layout.rebar.count; i++) rw.set(layout.rebar.offset + R.PCI_REBAR_CTRL + 8 * i, 4, R.EXT_RW.rebarCtrl);
    if (layout.vfRebar) for (let i = 0; i < layout.vfRebar.count; i++) rw.set(layout.vfRebar.offset + R.PCI_REBAR_CTRL + 8 * i, 4, R.EXT_RW.rebarCtrl);
    if (layout.ats !== null) rw.set(layout.ats + R.PCI_ATS_CTRL, 2, R.EXT_RW.atsCtrl);
    if (layout.pasid !== null) rw.set(layout.pasid + R.PCI_PASID_CTRL, 2, R.EXT_RW.pasidCtrl);
    if (layout.pri !== null) {
      rw.set(layout.pri + R.PCI_PRI_CTRL, 2, R.EXT_RW.priCtrl);
      rw.set(layout.pri + R.PCI_PRI_ALLOC_REQ, 4, R.EXT_RW.priAlloc);
    }
    if (layout.dpc !== null) rw.set(layout.dpc + R.PCI_EXP_DPC_CTL, 2, R.EXT_RW.dpcCtl);
    if (layout.l1ss !== null) {
      rw.set(layout.l1ss + R.PCI_L1SS_CTL1, 4, R.EXT_RW.l1ssCtl1);
      rw.set(layout.l1ss + R.PCI_L1SS_CTL2, 4, R.EXT_RW.l1ssCtl2);
    }
    if (layout.ptm !== null) rw.set(layout.ptm + R.PCI_PTM_CTRL, 4, R.EXT_RW.ptmCtrl);
    if (layout.tph !== null) rw.set(layout.tph + R.PCI_TPH_CTRL, 4, R.EXT_RW.tphCtrl);
    if (layout.vc) {
      rw.set(layout.vc.offset + R.PCI_VC_PORT_CTRL, 2, R.EXT_RW.vcPortCtrl);
      for (let i = 0; i < layout.vc.count; i++) {
        const o = layout.vc.offset + R.PCI_VC_RES_CTRL + R.PCI_VC_RES_STRIDE * i;
        // VC0: enable and ID are read-only; TC0 maps to VC0 at power-on.
        rw.set(o, 4, i === 0 ? 0x000e00fe : R.EXT_RW.vcResCtrl);
      }
    }
    if (layout.pcix !== null) rw.set(layout.pcix + R.PCI_X_CMD, 2, R.EXT_RW.pcixCmd);
    if (layout.sriov !== null) {
      const s = layout.sriov;
      rw.set(s + R.PCI_SRIOV_CTRL, 2, 0x001f);
      rw.set(s + R.PCI_SRIOV_NUM_VF, 2, 0xffff);
      rw.set(s + R.PCI_SRIOV_SYS_PGSIZE, 4, 0xffffffff);
      def.set(s + R.PCI_SRIOV_SYS_PGSIZE, 4, 1);
      for (let i = 0; i < R.PCI_SRIOV_NUM_BARS; i++) rw.set(s + R.PCI_SRIOV_BAR + 4 * i, 4, 0xfffff000);
    }
  }

  const powerOn = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const keep = ~(rwBytes[i]! | w1cBytes[i]!) & 0xff;
    powerOn[i] = (config[i]! & keep) | (defaults[i]! & rwBytes[i]!);
  }
  // A reset leaves the function in D0 with no transactions outstanding.
  if (layout?.pm != null) powerOn[layout.pm + R.PCI_PM_CTRL] = powerOn[layout.pm + R.PCI_PM_CTRL]! & ~R.PCI_PM_CTRL_STATE_MASK;
  if (layout?.pcie) {
    const o = layout.pcie.offset + R.PCI_EXP_DEVSTA;
    powerOn[o] = powerOn[o]! & ~R.PCI_EXP_DEVSTA_TRPND;
  }
  return { layout, rw: rwBytes, w1c: w1cBytes, powerOn };
}
