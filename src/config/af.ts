import { ConfigBytes, hexOffset } from './config-bytes.js';
import * as R from './registers.js';

export interface AfCap {
  offset: number;
  /** AF_CAP bit 0: Transactions Pending is reported. */
  tp: boolean;
  /** AF_CAP bit 1: FLR through AF_CTRL. */
  flr: boolean;
  /** AF_STATUS bit 0. */
  transactionsPending: boolean;
}

/** Advanced Features (conventional PCI FLR). The kernel's pci_af_flr() needs both TP and FLR. */
export function decodeAf(cfg: ConfigBytes, offset: number, problems: string[]): AfCap | null {
  const cap = cfg.u8(offset + R.PCI_AF_CAP);
  const status = cfg.u8(offset + R.PCI_AF_STATUS);
  if (cap === null || status === null) {
    problems.push(`Advanced Features capability at ${hexOffset(offset)} is cut off by the end of readable config`);
    return null;
  }
  return {
    offset,
    tp: (cap & R.PCI_AF_CAP_TP) !== 0,
    flr: (cap & R.PCI_AF_CAP_FLR) !== 0,
    transactionsPending: (status & R.PCI_AF_STATUS_TP) !== 0,
  };
}
