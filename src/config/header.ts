import { ConfigBytes } from './config-bytes.js';
import * as R from './registers.js';

export interface Header {
  vendor: number;
  device: number;
  command: number;
  status: number;
  revision: number;
  /** 24-bit class code: base, subclass, programming interface. */
  classCode: number;
  /** Low 7 bits of 0x0E. */
  headerType: number;
  multiFunction: boolean;
  subsystemVendor: number | null;
  subsystemDevice: number | null;
  immediateReadiness: boolean;
}

/**
 * The first 64 bytes. Null when they cannot be read or read as all ones (a function that does not
 * answer config cycles). VFs read 0xffff for vendor and device by design; that is not all ones here
 * because their class and header still read back.
 */
export function decodeHeader(cfg: ConfigBytes, problems: string[]): Header | null {
  if (cfg.length < R.PCI_STD_HEADER_SIZEOF) {
    problems.push(cfg.length === 0 ? 'config space is empty' : `config truncated to ${cfg.length} bytes (header needs 64)`);
    if (cfg.length < 0x10) return null;
  }
  const dw0 = cfg.u32(0)!;
  const dw2 = cfg.u32(0x08)!;
  const dw3 = cfg.u32(0x0c)!;
  if (dw0 === 0xffffffff && dw2 === 0xffffffff && dw3 === 0xffffffff) {
    problems.push('config reads all 0xFF (function not responding)');
    return null;
  }
  const headerByte = cfg.u8(R.PCI_HEADER_TYPE)!;
  const headerType = headerByte & R.PCI_HEADER_TYPE_MASK;
  const status = cfg.u16(R.PCI_STATUS)!;
  const subsys =
    headerType === R.PCI_HEADER_TYPE_NORMAL
      ? [cfg.u16(R.PCI_SUBSYSTEM_VENDOR_ID), cfg.u16(R.PCI_SUBSYSTEM_ID)]
      : headerType === R.PCI_HEADER_TYPE_CARDBUS
        ? [cfg.u16(R.PCI_CB_SUBSYSTEM_VENDOR_ID), cfg.u16(R.PCI_CB_SUBSYSTEM_ID)]
        : [null, null];
  if (headerType > R.PCI_HEADER_TYPE_CARDBUS) problems.push(`unknown header type ${headerType}`);
  return {
    vendor: dw0 & 0xffff,
    device: dw0 >>> 16,
    command: cfg.u16(R.PCI_COMMAND)!,
    status,
    revision: dw2 & 0xff,
    classCode: dw2 >>> 8,
    headerType,
    multiFunction: (headerByte & R.PCI_HEADER_TYPE_MFD) !== 0,
    subsystemVendor: subsys[0] ?? null,
    subsystemDevice: subsys[1] ?? null,
    immediateReadiness: (status & R.PCI_STATUS_IMM_READY) !== 0,
  };
}
