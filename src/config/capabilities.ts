import { ConfigBytes, hexOffset } from './config-bytes.js';
import * as R from './registers.js';

export interface Capability {
  id: number;
  offset: number;
}

export interface ExtendedCapability extends Capability {
  version: number;
}

/**
 * The standard capability list, walked by the kernel's rules (__pci_find_next_cap_ttl): the pointer is
 * checked against 0x40 before it is masked with ~3, the walk ends at an ID of 0xFF, and after 48 hops.
 * lspci differs: it follows pointers into the header; we follow the kernel, which decides what a reset can use.
 */
export function walkCapabilities(cfg: ConfigBytes, headerType: number, status: number, problems: string[]): Capability[] {
  if ((status & R.PCI_STATUS_CAP_LIST) === 0) return [];
  const start = headerType === R.PCI_HEADER_TYPE_CARDBUS ? R.PCI_CB_CAPABILITY_LIST : R.PCI_CAPABILITY_LIST;
  let pos = cfg.u8(start);
  if (pos === null) return [];
  const caps: Capability[] = [];
  let ttl = R.PCI_FIND_CAP_TTL;
  while (ttl-- > 0) {
    if (pos < R.PCI_STD_HEADER_SIZEOF) {
      if (pos !== 0) problems.push(`capability pointer ${hexOffset(pos)} points into the header`);
      return caps;
    }
    pos &= ~3;
    if (visited(caps, pos)) {
      problems.push(`capability loop at ${hexOffset(pos)}`);
      return caps;
    }
    const ent = cfg.u16(pos);
    if (ent === null) {
      problems.push(`capability at ${hexOffset(pos)} lies beyond the ${cfg.length} readable bytes`);
      return caps;
    }
    const id = ent & 0xff;
    if (id === 0xff) return caps;
    caps.push({ id, offset: pos });
    pos = ent >> 8;
  }
  // The last hop's pointer is only a problem if it would have led somewhere.
  if (pos >= R.PCI_STD_HEADER_SIZEOF) problems.push(`capability chain longer than ${R.PCI_FIND_CAP_TTL} entries`);
  return caps;
}

/**
 * The extended list from 0x100 (pci_find_next_ext_capability): only when more than 256 bytes are
 * readable, ends when the next pointer is below 0x100, at most 480 hops. A header of 0 means "none".
 */
export function walkExtendedCapabilities(cfg: ConfigBytes, problems: string[]): ExtendedCapability[] {
  if (cfg.length <= R.PCI_CFG_SPACE_SIZE) return [];
  let pos = R.PCI_CFG_SPACE_SIZE;
  let header = cfg.u32(pos);
  if (header === null || header === 0 || header === 0xffffffff) return [];
  const caps: ExtendedCapability[] = [];
  let ttl = R.PCI_FIND_EXT_CAP_TTL;
  while (ttl-- > 0) {
    if (visited(caps, pos)) {
      problems.push(`extended capability loop at ${hexOffset(pos)}`);
      return caps;
    }
    caps.push({ id: header & 0xffff, offset: pos, version: (header >>> 16) & 0xf });
    pos = (header >>> 20) & 0xffc;
    if (pos < R.PCI_CFG_SPACE_SIZE) {
      if (pos !== 0) problems.push(`extended capability pointer ${hexOffset(pos)} points below 0x100`);
      return caps;
    }
    header = cfg.u32(pos);
    if (header === null) {
      problems.push(`extended capability at ${hexOffset(pos)} lies beyond the ${cfg.length} readable bytes`);
      return caps;
    }
  }
  problems.push(`extended capability chain longer than ${R.PCI_FIND_EXT_CAP_TTL} entries`);
  return caps;
}

/**
 * Whether the walk was at `pos` before. Every visited position is in `caps`, and chains are short
 * (a handful of entries; 480 at worst in a broken config), so a scan of the list beats a Set per walk.
 */
function visited(caps: readonly Capability[], pos: number): boolean {
  for (let i = 0; i < caps.length; i++) if (caps[i]!.offset === pos) return true;
  return false;
}

export function findCapability(caps: Capability[], id: number): number | null {
  return caps.find((c) => c.id === id)?.offset ?? null;
}
