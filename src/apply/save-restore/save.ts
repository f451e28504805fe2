import type { ConfigWidth, PciAccess } from '../../access/access.js';
import { pcieRegisterImplemented, type RegisterLayout } from '../../config/register-layout.js';
import * as R from '../../config/registers.js';
import { MethodError } from '../method-error.js';
import type { RestoreGroup, SavedRegister, SavedState } from './saved-state.js';

interface Slot {
  name: string;
  offset: number;
  width: ConfigWidth;
  group: RestoreGroup;
  compare: number;
  force?: boolean;
  retries?: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Header dwords in the kernel's restore order (pci_restore_config_space(): each range from its end down). */
function headerSlots(headerType: number): Slot[] {
  const slot = (dword: number, extra: Partial<Slot> = {}): Slot => {
    const o = dword * 4;
    return { name: headerName(headerType, o), offset: o, width: 4, group: 'header', compare: headerCompare(headerType, o), ...extra };
  };
  const seq = (from: number, to: number, extra: Partial<Slot> = {}): Slot[] => {
    const out: Slot[] = [];
    for (let d = to; d >= from; d--) out.push(slot(d, extra));
    return out;
  };
  if (headerType === R.PCI_HEADER_TYPE_NORMAL) return [...seq(10, 15), ...seq(4, 9, { retries: 10 }), ...seq(0, 3)];
  if (headerType === R.PCI_HEADER_TYPE_BRIDGE) return [...seq(12, 15), ...seq(9, 11, { force: true }), ...seq(0, 8)];
  return seq(0, 15);
}

function headerName(headerType: number, o: number): string {
  const bar = (i: number): string => `BAR${i}@${hex(o)}`;
  if (o >= 0x10 && o < (headerType === R.PCI_HEADER_TYPE_BRIDGE ? 0x18 : 0x28)) return bar((o - 0x10) / 4);
  const common: Record<number, string> = { 0x00: 'ID', 0x04: 'Command', 0x08: 'Class', 0x0c: 'CacheLine/Latency', 0x3c: 'InterruptLine' };
  const type0: Record<number, string> = { 0x28: 'CardbusCIS', 0x2c: 'Subsystem', 0x30: 'ROM', 0x34: 'CapPtr', 0x38: 'Reserved' };
  const type1: Record<number, string> = {
    0x18: 'BusNumbers',
    0x1c: 'IOBase/Limit',
    0x20: 'MemoryBase/Limit',
    0x24: 'PrefetchBase/Limit',
    0x28: 'PrefetchBaseUpper',
    0x2c: 'PrefetchLimitUpper',
    0x30: 'IOUpper',
    0x34: 'CapPtr',
    0x38: 'ROM',
    0x3c: 'InterruptLine/BridgeControl',
  };
  const name = (headerType === R.PCI_HEADER_TYPE_BRIDGE ? type1[o] : type0[o]) ?? common[o] ?? 'Header';
  return `${name}@${hex(o)}`;
}

/** Bits a restored header dword must read back with: not Status (RW1C), BIST or the bridge's secondary status. */
function headerCompare(headerType: number, o: number): number {
  if (o === 0x04) return 0x0000ffff;
  if (o === 0x0c) return 0x00ffffff;
  if (headerType === R.PCI_HEADER_TYPE_BRIDGE && o === 0x1c) return 0x0000ffff;
  if (o === 0x34) return 0x000000ff;
  if (headerType !== R.PCI_HEADER_TYPE_BRIDGE && o === 0x38) return 0;
  return 0xffffffff;
}

const slotCache = new WeakMap<RegisterLayout, Slot[]>();

/** Every register pci_save_state() keeps that this layout has, plus MSI/MSI-X control, ACS and SR-IOV; restore order. */
export function savedSlots(layout: RegisterLayout): Slot[] {
  const known = slotCache.get(layout);
  if (known) return known;
  const slots: Slot[] = [];
  slotCache.set(layout, slots);
  if (layout.ltr !== null) {
    slots.push({ name: `LTR@${hex(layout.ltr + R.PCI_LTR_MAX_SNOOP_LAT)}`, offset: layout.ltr + R.PCI_LTR_MAX_SNOOP_LAT, width: 4, group: 'ltr', compare: 0x1fff1fff });
  }
  const ext = (name: string, group: RestoreGroup, offset: number, width: ConfigWidth, compare: number): void => {
    slots.push({ name: `${name}@${hex(offset)}`, offset, width, group, compare });
  };
  // pci_restore_aspm_l1ss_state() (drivers/pci/pcie/aspm.c:125): Control 2, then Control 1 (its enables), before LnkCtl.
  if (layout.l1ss !== null) {
    ext('L1SSCtl2', 'l1ss', layout.l1ss + R.PCI_L1SS_CTL2, 4, R.EXT_RW.l1ssCtl2);
    ext('L1SSCtl1', 'l1ss', layout.l1ss + R.PCI_L1SS_CTL1, 4, R.EXT_RW.l1ssCtl1);
  }
  const p = layout.pcie;
  if (p) {
    const regs: [string, number][] = [
      ['DevCtl', R.PCI_EXP_DEVCTL],
      ['LnkCtl', R.PCI_EXP_LNKCTL],
      ['SltCtl', R.PCI_EXP_SLTCTL],
      ['RtCtl', R.PCI_EXP_RTCTL],
      ['DevCtl2', R.PCI_EXP_DEVCTL2],
      ['LnkCtl2', R.PCI_EXP_LNKCTL2],
      ['SltCtl2', R.PCI_EXP_SLTCTL2],
    ];
    for (const [name, reg] of regs) {
      if (!pcieRegisterImplemented(p, reg)) continue;
      const compare = reg === R.PCI_EXP_LNKCTL ? 0xffff & ~R.PCI_EXP_LNKCTL_RL : 0xffff;
      slots.push({ name: `${name}@${hex(p.offset + reg)}`, offset: p.offset + reg, width: 2, group: 'pcie', compare });
    }
  }
  // pci_restore_state() (drivers/pci/pci.c:1859) after the PCIe words: PASID, PRI, ATS, VC, Resizable BAR
  // (before the BARs it sizes), DPC, PTM, TPH; then AER, the header, PCI-X, MSI, ACS, IOV.
  if (layout.pasid !== null) ext('PASIDCtl', 'pasid', layout.pasid + R.PCI_PASID_CTRL, 2, R.EXT_RW.pasidCtrl);
  if (layout.pri !== null) {
    // pci_restore_pri_state() (drivers/pci/ats.c:303): the allocation before the enable.
    ext('PRIAlloc', 'pri', layout.pri + R.PCI_PRI_ALLOC_REQ, 4, R.EXT_RW.priAlloc);
    ext('PRICtl', 'pri', layout.pri + R.PCI_PRI_CTRL, 2, R.EXT_RW.priCtrl);
  }
  if (layout.ats !== null) ext('ATSCtl', 'ats', layout.ats + R.PCI_ATS_CTRL, 2, R.EXT_RW.atsCtrl);
  if (layout.vc !== null) {
    // pci_restore_vc_state() (drivers/pci/vc.c:390): Port VC Control, then each VC Resource Control (arbitration tables not kept).
    const v = layout.vc;
    ext('VCPortCtl', 'vc', v.offset + R.PCI_VC_PORT_CTRL, 2, R.EXT_RW.vcPortCtrl);
    for (let i = 0; i < v.count; i++) ext(`VC${i}ResCtl`, 'vc', v.offset + R.PCI_VC_RES_CTRL + R.PCI_VC_RES_STRIDE * i, 4, R.EXT_RW.vcResCtrl);
  }
  if (layout.rebar !== null) {
    // pci_restore_rebar_state() (drivers/pci/pci.c:1829): each entry's BAR Size, before the BARs.
    for (let i = 0; i < layout.rebar.count; i++) ext(`ReBARCtl${i}`, 'rebar', layout.rebar.offset + R.PCI_REBAR_CTRL + 8 * i, 4, R.EXT_RW.rebarCtrl);
  }
  if (layout.dpc !== null) ext('DPCCtl', 'dpc', layout.dpc + R.PCI_EXP_DPC_CTL, 2, R.EXT_RW.dpcCtl);
  if (layout.ptm !== null) ext('PTMCtl', 'ptm', layout.ptm + R.PCI_PTM_CTRL, 4, R.EXT_RW.ptmCtrl);
  if (layout.tph !== null) ext('TPHCtl', 'tph', layout.tph + R.PCI_TPH_CTRL, 4, R.EXT_RW.tphCtrl);
  if (layout.aer !== null) {
    const a = layout.aer;
    slots.push({ name: `AERUncorMask@${hex(a + R.PCI_ERR_UNCOR_MASK)}`, offset: a + R.PCI_ERR_UNCOR_MASK, width: 4, group: 'aer', compare: 0xffffffff });
    slots.push({ name: `AERUncorSever@${hex(a + R.PCI_ERR_UNCOR_SEVER)}`, offset: a + R.PCI_ERR_UNCOR_SEVER, width: 4, group: 'aer', compare: 0xffffffff });
    slots.push({ name: `AERCorMask@${hex(a + R.PCI_ERR_COR_MASK)}`, offset: a + R.PCI_ERR_COR_MASK, width: 4, group: 'aer', compare: 0xffffffff });
    slots.push({ name: `AERCap@${hex(a + R.PCI_ERR_CAP)}`, offset: a + R.PCI_ERR_CAP, width: 4, group: 'aer', compare: 0x00000540 });
    if (p?.type === 'root_port' || p?.type === 'rc_event_collector') {
      slots.push({ name: `AERRootCmd@${hex(a + R.PCI_ERR_ROOT_COMMAND)}`, offset: a + R.PCI_ERR_ROOT_COMMAND, width: 4, group: 'aer', compare: 0x7 });
    }
  }
  slots.push(...headerSlots(layout.headerType));
  // pci_restore_pcix_state() (drivers/pci/pci.c:1724): after the header.
  if (layout.pcix !== null) ext('PCIXCmd', 'pcix', layout.pcix + R.PCI_X_CMD, 2, R.EXT_RW.pcixCmd);
  if (layout.msi) {
    const m = layout.msi;
    slots.push({ name: `MSIAddrLo@${hex(m.offset + R.PCI_MSI_ADDRESS_LO)}`, offset: m.offset + R.PCI_MSI_ADDRESS_LO, width: 4, group: 'msi', compare: 0xfffffffc });
    if (m.is64) slots.push({ name: `MSIAddrHi@${hex(m.offset + R.PCI_MSI_ADDRESS_HI)}`, offset: m.offset + R.PCI_MSI_ADDRESS_HI, width: 4, group: 'msi', compare: 0xffffffff });
    const data = m.offset + (m.is64 ? R.PCI_MSI_DATA_64 : R.PCI_MSI_DATA_32);
    slots.push({ name: `MSIData@${hex(data)}`, offset: data, width: 2, group: 'msi', compare: 0xffff });
    if (m.maskable) {
      const mask = m.offset + (m.is64 ? R.PCI_MSI_MASK_64 : R.PCI_MSI_MASK_32);
      slots.push({ name: `MSIMask@${hex(mask)}`, offset: mask, width: 4, group: 'msi', compare: 0xffffffff });
    }
    // Control last, so the enable bit comes on with a valid address and data in place.
    slots.push({ name: `MSICtl@${hex(m.offset + R.PCI_MSI_FLAGS)}`, offset: m.offset + R.PCI_MSI_FLAGS, width: 2, group: 'msi', compare: R.PCI_MSI_FLAGS_ENABLE | R.PCI_MSI_FLAGS_QSIZE });
  }
  if (layout.msix !== null) {
    slots.push({ name: `MSIXCtl@${hex(layout.msix + R.PCI_MSIX_FLAGS)}`, offset: layout.msix + R.PCI_MSIX_FLAGS, width: 2, group: 'msix', compare: R.PCI_MSIX_FLAGS_ENABLE | R.PCI_MSIX_FLAGS_MASKALL });
  }
  if (layout.acs !== null) slots.push({ name: `ACSCtl@${hex(layout.acs + R.PCI_ACS_CTRL)}`, offset: layout.acs + R.PCI_ACS_CTRL, width: 2, group: 'acs', compare: 0xffff });
  if (layout.vfRebar !== null) {
    // pci_restore_iov_state() (drivers/pci/iov.c:1112): sriov_restore_vf_rebar_state() before sriov_restore_state().
    for (let i = 0; i < layout.vfRebar.count; i++) ext(`VFReBARCtl${i}`, 'vfrebar', layout.vfRebar.offset + R.PCI_REBAR_CTRL + 8 * i, 4, R.EXT_RW.rebarCtrl);
  }
  if (layout.sriov !== null) {
    const s = layout.sriov;
    // sriov_restore_state()'s order: VF BARs, page size, NumVFs, Control (its ARI bit is written first, alone, by restore).
    for (let i = 0; i < R.PCI_SRIOV_NUM_BARS; i++) {
      const o = s + R.PCI_SRIOV_BAR + 4 * i;
      slots.push({ name: `VFBAR${i}@${hex(o)}`, offset: o, width: 4, group: 'sriov', compare: 0xffffffff });
    }
    slots.push({ name: `SRIOVPageSize@${hex(s + R.PCI_SRIOV_SYS_PGSIZE)}`, offset: s + R.PCI_SRIOV_SYS_PGSIZE, width: 4, group: 'sriov', compare: 0xffffffff });
    slots.push({ name: `SRIOVNumVFs@${hex(s + R.PCI_SRIOV_NUM_VF)}`, offset: s + R.PCI_SRIOV_NUM_VF, width: 2, group: 'sriov', compare: 0xffff });
    slots.push({ name: `SRIOVCtl@${hex(s + R.PCI_SRIOV_CTRL)}`, offset: s + R.PCI_SRIOV_CTRL, width: 2, group: 'sriov', compare: 0x001f });
  }
  return slots;
}

/**
 * Read a function's state before a reset. Refuses (nothing has been written yet) when the function does
 * not answer: a state of all-ones restored later would be worse than none.
 */
export function saveState(access: PciAccess, bdf: string, layout: RegisterLayout): SavedState {
  const registers: SavedRegister[] = [];
  for (const s of savedSlots(layout)) {
    let value: number;
    try {
      value = access.readConfigAt(bdf, s.offset, s.width);
    } catch (err) {
      throw MethodError.from(err, 'save', bdf, `config read of ${s.name}`);
    }
    registers.push({ ...s, value });
  }
  const id = registers.find((r) => r.offset === 0 && r.group === 'header');
  const cmd = registers.find((r) => r.offset === R.PCI_COMMAND && r.group === 'header');
  if (id?.value === 0xffffffff && cmd?.value === 0xffffffff) {
    throw new MethodError('ENODEV', 'save', bdf, 'config reads all-ones: the function does not answer, nothing to save');
  }
  return { bdf, headerType: layout.headerType, registers };
}
