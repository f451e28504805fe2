import type { PciAccess } from '../../access/access.js';
import * as R from '../../config/registers.js';
import type { RestoreMismatch } from '../apply-report.js';
import type { RestoreGroup, SavedRegister, SavedState } from './saved-state.js';

export interface RestoreOptions {
  /**
   * Write Command with Bus Master Enable off. After a reset that failed or was cut short the function may
   * still be running its DMA engines, and stopping DMA is why we are here: a driver that binds later sets
   * Bus Master again itself (pci_set_master()).
   */
  keepBusMasterOff: boolean;
}

export interface RestoreResult {
  /** SR-IOV VF Enable was written back: VFs need 100 ms before they are touched. */
  vfEnabled: boolean;
  /** Registers whose write failed (`Command@0x4: EIO …`); the others were still written. */
  errors: string[];
}

function adjusted(r: SavedRegister, opts: RestoreOptions): number {
  if (opts.keepBusMasterOff && r.group === 'header' && r.offset === R.PCI_COMMAND) return r.value & ~R.PCI_COMMAND_MASTER;
  return r.value;
}

/**
 * Write a saved state back in the kernel's pci_restore_state() order: LTR, PCIe control words, AER (after
 * clearing its status), the header (BARs before Command), MSI (address and data before the enable),
 * MSI-X control, ACS, SR-IOV (ARI Capable Hierarchy alone first, then VF BARs, page size and NumVFs,
 * VF Enable last). Like pci_restore_config_dword(), a
 * register that already holds its value is not written, except where the kernel forces it.
 *
 * Differences from the kernel, on purpose: BAR writes are retried at once rather than 1 ms apart (this
 * runs on the event loop and must not block it), and the MSI-X table, which lives in device memory, is
 * not restored (no driver is bound in a capture kernel; its entries come back masked).
 */
export function restoreState(access: PciAccess, state: SavedState, opts: RestoreOptions): RestoreResult {
  const errors: string[] = [];
  let vfEnabled = false;
  const { bdf } = state;
  const read = (o: number, w: 2 | 4): number | null => {
    try {
      return access.readConfigAt(bdf, o, w);
    } catch {
      return null;
    }
  };
  const write = (name: string, o: number, w: 2 | 4, v: number): boolean => {
    try {
      access.writeConfigAt(bdf, o, w, v);
      return true;
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
      return false;
    }
  };
  const started = new Set<string>();
  let skipSriov = false;
  for (const r of state.registers) {
    if (!started.has(r.group)) {
      started.add(r.group);
      if (r.group === 'aer') clearAerStatus(state, read, write);
      if (r.group === 'msi') {
        // pci_msi_set_enable(dev, 0) first: never enable with a half-written address.
        const ctl = state.registers.find((x) => x.group === 'msi' && x.name.startsWith('MSICtl'));
        const cur = ctl ? read(ctl.offset, 2) : null;
        if (ctl && cur !== null && cur & R.PCI_MSI_FLAGS_ENABLE) write(ctl.name, ctl.offset, 2, cur & ~R.PCI_MSI_FLAGS_ENABLE);
      }
      if (r.group === 'sriov') {
        // sriov_restore_state(): nothing to do when VFs are still enabled.
        const ctl = state.registers.find((x) => x.name.startsWith('SRIOVCtl'));
        const cur = ctl ? read(ctl.offset, 2) : null;
        skipSriov = cur !== null && (cur & R.PCI_SRIOV_CTRL_VFE) !== 0;
        // sriov_restore_state(): the ARI Capable Hierarchy bit first, alone (First VF Offset and VF Stride,
        // and so which NumVFs are valid, depend on it), then the VF BARs, page size and NumVFs, and the
        // rest of SR-IOV Control, VF Enable included, last.
        if (ctl && cur !== null && !skipSriov) {
          const ari = ((cur & ~R.PCI_SRIOV_CTRL_ARI) | (ctl.value & R.PCI_SRIOV_CTRL_ARI)) & 0xffff;
          if (ari !== cur) write(`${ctl.name} (ARI)`, ctl.offset, 2, ari);
        }
      }
    }
    if (r.group === 'sriov' && skipSriov) continue;
    const value = adjusted(r, opts);
    if (!r.force && read(r.offset, r.width as 2 | 4) === value) continue;
    if (!write(r.name, r.offset, r.width as 2 | 4, value)) continue;
    for (let i = 0; i < (r.retries ?? 0); i++) {
      if (read(r.offset, r.width as 2 | 4) === value) break;
      write(r.name, r.offset, r.width as 2 | 4, value);
    }
    if (r.name.startsWith('SRIOVCtl') && value & R.PCI_SRIOV_CTRL_VFE) vfEnabled = true;
  }
  return { vfEnabled, errors };
}

/** pci_aer_clear_status(): write back whatever status bits are set (they are RW1C). */
function clearAerStatus(
  state: SavedState,
  read: (o: number, w: 2 | 4) => number | null,
  write: (name: string, o: number, w: 2 | 4, v: number) => boolean,
): void {
  const mask = state.registers.find((r) => r.name.startsWith('AERUncorMask'));
  if (!mask) return;
  const base = mask.offset - R.PCI_ERR_UNCOR_MASK;
  for (const [name, o] of [
    ['AERUncorStatus', base + R.PCI_ERR_UNCOR_STATUS],
    ['AERCorStatus', base + R.PCI_ERR_COR_STATUS],
  ] as const) {
    const v = read(o, 4);
    if (v !== null && v !== 0 && v !== 0xffffffff) write(name, o, 4, v);
  }
}

/** A mismatch with the restore group of its register (not part of the report: strip `group` there). */
export type GroupedMismatch = RestoreMismatch & { group: RestoreGroup };

/** Read every saved register back; a difference in the bits that must stick is a mismatch. */
export function verifyState(access: PciAccess, state: SavedState, opts: RestoreOptions): { mismatches: GroupedMismatch[]; errors: string[] } {
  const mismatches: GroupedMismatch[] = [];
  const errors: string[] = [];
  for (const r of state.registers) {
    let mask = r.compare;
    if (mask === 0) continue;
    if (opts.keepBusMasterOff && r.group === 'header' && r.offset === R.PCI_COMMAND) mask &= ~R.PCI_COMMAND_MASTER;
    let actual: number;
    try {
      actual = state.bdf ? access.readConfigAt(state.bdf, r.offset, r.width) : 0;
    } catch (err) {
      errors.push(`${r.name}: ${(err as Error).message}`);
      continue;
    }
    if (((actual ^ r.value) & mask) !== 0) {
      mismatches.push({ bdf: state.bdf, register: r.name, expected: r.value >>> 0, actual: actual >>> 0, mask: mask >>> 0, group: r.group });
    }
  }
  return { mismatches, errors };
}
