import { ConfigBytes } from './config-bytes.js';
import * as R from './registers.js';

export interface BridgeRegs {
  primaryBus: number;
  secondaryBus: number;
  subordinateBus: number;
  bridgeControl: number | null;
  /** Bridge Control bit 6 set: the secondary bus is being held in reset right now. */
  secondaryBusResetAsserted: boolean;
}

/** Bus numbers (same offsets for type 1 and CardBus) and Bridge Control (type 1 only at 0x3E; CardBus also 0x3E). */
export function decodeBridge(cfg: ConfigBytes, headerType: number): BridgeRegs | null {
  if (headerType !== R.PCI_HEADER_TYPE_BRIDGE && headerType !== R.PCI_HEADER_TYPE_CARDBUS) return null;
  const primary = cfg.u8(R.PCI_PRIMARY_BUS);
  const secondary = cfg.u8(R.PCI_SECONDARY_BUS);
  const subordinate = cfg.u8(R.PCI_SUBORDINATE_BUS);
  if (primary === null || secondary === null || subordinate === null) return null;
  const bctl = cfg.u16(R.PCI_BRIDGE_CONTROL);
  return {
    primaryBus: primary,
    secondaryBus: secondary,
    subordinateBus: subordinate,
    bridgeControl: bctl,
    secondaryBusResetAsserted: bctl !== null && (bctl & R.PCI_BRIDGE_CTL_BUS_RESET) !== 0,
  };
}
