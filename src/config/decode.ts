import { decodeAf, type AfCap } from './af.js';
import { decodeBridge, type BridgeRegs } from './bridge.js';
import {
  findCapability,
  walkCapabilities,
  walkExtendedCapabilities,
  type Capability,
  type ExtendedCapability,
} from './capabilities.js';
import { ConfigBytes } from './config-bytes.js';
import { decodeHeader, type Header } from './header.js';
import { decodePcie, type PcieCap } from './pcie.js';
import { decodePm, type PmCap } from './pm.js';
import { decodeReadinessTimes, PCI_EXT_CAP_ID_RTR, type ReadinessTimes } from './readiness.js';
import * as R from './registers.js';

/** Everything the agent needs from one function's config space. Pure: bytes in, facts and problems out. */
export interface DecodedConfig {
  /** How many bytes could be read. */
  size: number;
  header: Header | null;
  capabilities: Capability[];
  extendedCapabilities: ExtendedCapability[];
  pcie: PcieCap | null;
  pm: PmCap | null;
  af: AfCap | null;
  bridge: BridgeRegs | null;
  /** Offset of a CXL Port DVSEC (vendor 0x1E98, ID 3): its "Unmask SBR" bit decides whether Bridge Control's reset does anything. */
  cxlPortDvsec: number | null;
  /**
   * CXL Device DVSEC (vendor 0x1E98, ID 0): CXL Control (+0x0C) bit 2 Mem_Enable, set once the device
   * decodes host memory (its HDM decoders, in MMIO, may be committed). Null when there is no such DVSEC.
   */
  cxlMemEnabled: boolean | null;
  /** Readiness Time Reporting (extended capability 0x22), decoded; null when absent. */
  readiness: ReadinessTimes | null;
  problems: string[];
}

/** The decoded form of a function with no config file at all. */
export function noConfig(): DecodedConfig {
  return { size: 0, header: null, capabilities: [], extendedCapabilities: [], pcie: null, pm: null, af: null, bridge: null, cxlPortDvsec: null, cxlMemEnabled: null, readiness: null, problems: [] };
}

export function decodeConfig(bytes: Uint8Array): DecodedConfig {
  const cfg = new ConfigBytes(bytes);
  const problems: string[] = [];
  const header = decodeHeader(cfg, problems);
  if (!header) return { ...noConfig(), size: bytes.length, problems };
  if (bytes.length >= R.PCI_STD_HEADER_SIZEOF && bytes.length < R.PCI_CFG_SPACE_SIZE) {
    // 64 bytes is what an unprivileged reader gets from sysfs; capabilities live beyond it.
    problems.push(`config truncated to ${bytes.length} bytes`);
  }
  const capabilities = walkCapabilities(cfg, header.headerType, header.status, problems);
  const pcieOff = findCapability(capabilities, R.PCI_CAP_ID_EXP);
  const pmOff = findCapability(capabilities, R.PCI_CAP_ID_PM);
  const afOff = findCapability(capabilities, R.PCI_CAP_ID_AF);
  const pcie = pcieOff === null ? null : decodePcie(cfg, pcieOff, problems);
  if (pcie && bytes.length === R.PCI_CFG_SPACE_SIZE) {
    problems.push('config truncated to 256 bytes (PCI Express function: extended capabilities unreadable)');
  } else if (bytes.length > R.PCI_CFG_SPACE_SIZE && bytes.length < R.PCI_CFG_SPACE_EXP_SIZE) {
    problems.push(`config truncated to ${bytes.length} bytes`);
  }
  const extendedCapabilities = walkExtendedCapabilities(cfg, problems);
  return {
    size: bytes.length,
    header,
    capabilities,
    extendedCapabilities,
    pcie,
    pm: pmOff === null ? null : decodePm(cfg, pmOff, problems),
    af: afOff === null ? null : decodeAf(cfg, afOff, problems),
    bridge: decodeBridge(cfg, header.headerType),
    cxlPortDvsec: findCxlPortDvsec(cfg, extendedCapabilities),
    cxlMemEnabled: cxlMemEnabled(cfg, extendedCapabilities),
    readiness: readinessOf(cfg, extendedCapabilities),
    problems,
  };
}

function readinessOf(cfg: ConfigBytes, ext: ExtendedCapability[]): ReadinessTimes | null {
  const c = ext.find((x) => x.id === PCI_EXT_CAP_ID_RTR);
  if (!c) return null;
  const r1 = cfg.u32(c.offset + 4);
  const r2 = cfg.u32(c.offset + 8);
  return r1 === null || r2 === null ? null : decodeReadinessTimes(r1, r2);
}

/** CXL r3.0 8.1.3: the PCIe DVSEC for CXL Devices (ID 0); CXL Control at +0x0C, Mem_Enable bit 2. */
function cxlMemEnabled(cfg: ConfigBytes, ext: ExtendedCapability[]): boolean | null {
  for (const c of ext) {
    if (c.id !== R.PCI_EXT_CAP_ID_DVSEC) continue;
    if (cfg.u16(c.offset + R.PCI_DVSEC_HEADER1) !== R.PCI_VENDOR_ID_CXL || cfg.u16(c.offset + R.PCI_DVSEC_HEADER2) !== 0) continue;
    const ctl = cfg.u16(c.offset + 0x0c);
    return ctl === null ? null : (ctl & 0x0004) !== 0;
  }
  return null;
}

function findCxlPortDvsec(cfg: ConfigBytes, ext: ExtendedCapability[]): number | null {
  for (const c of ext) {
    if (c.id !== R.PCI_EXT_CAP_ID_DVSEC) continue;
    const vendor = cfg.u16(c.offset + R.PCI_DVSEC_HEADER1);
    const id = cfg.u16(c.offset + R.PCI_DVSEC_HEADER2);
    if (vendor === R.PCI_VENDOR_ID_CXL && id === R.CXL_DVSEC_PORT) return c.offset;
  }
  return null;
}
