import { hexAddress, hexOffset, u32, u64, u8, u16 } from './bytes.js';
import { parseTableHeader, type AcpiTableHeader } from './table-header.js';

/**
 * The ACPI IORT table (Arm DEN 0049; `struct acpi_table_iort` and its nodes, include/acpi/actbl2.h:653-860
 * of Linux 6.18.19, walked by drivers/acpi/arm64/iort.c): which SMMUs exist, which PCI requester IDs of
 * each root complex they translate (ID mappings whose output reference is an SMMU node), and which stream
 * IDs firmware wants left identity-mapped (RMR nodes, installed as bypass STEs by
 * arm_smmu_rmr_install_bypass_ste()). A mapping that goes straight to an ITS group bypasses any SMMU.
 */
export interface IortTable {
  header: AcpiTableHeader | null;
  smmus: IortSmmu[];
  rootComplexes: IortRootComplex[];
  rmrs: IortRmr[];
  itsGroups: number;
  namedComponents: number;
  damaged: boolean;
  problems: string[];
}

export interface IortSmmu {
  /** Offset of the node in the table: what ID mappings reference. */
  offset: number;
  /** 3 (SMMUv1/v2) or 4 (SMMUv3). */
  version: 2 | 3;
  base: string;
  baseValue: bigint;
  model: number;
  flags: number;
  /** SMMUv3 COHACC override: the SMMU's table walks are coherent (adoption needs it). */
  coherent: boolean | null;
}

export interface IortMapping {
  /** First input ID (a PCI requester ID for a root complex: bus << 8 | devfn). */
  inputBase: number;
  /** How many IDs (id_count + 1: the field holds "number of IDs minus one", iort.c:360). */
  count: number;
  outputBase: number;
  /** The node the IDs go to, as its table offset. */
  outputRef: number;
  /** What that node is: `smmuv3`, `smmu`, `its`, or `node type N`. */
  outputKind: string;
}

export interface IortRootComplex {
  offset: number;
  segment: number;
  ats: boolean;
  mappings: IortMapping[];
}

export interface IortRmr {
  offset: number;
  flags: number;
  ranges: { base: string; length: string }[];
  /** Stream IDs per SMMU (by node offset) left in bypass. */
  streams: { smmu: number; first: number; count: number }[];
}

const NODE = { ITS: 0, NAMED: 1, RC: 2, SMMU: 3, SMMUV3: 4, PMCG: 5, RMR: 6 } as const;
const NODE_HEADER = 16;
const MAPPING = 20;
const MAX_NODES = 4096;

export function parseIort(bytes: Uint8Array, label = 'acpi:IORT'): IortTable {
  const h = parseTableHeader(bytes, 'IORT', label);
  const t: IortTable = { header: h.header, smmus: [], rootComplexes: [], rmrs: [], itsGroups: 0, namedComponents: 0, damaged: h.damaged, problems: [...h.problems] };
  if (!h.header) return t;
  const end = h.end;
  if (end < 48) {
    t.problems.push(`${label}: ${end} bytes, too short for the IORT node count and offset`);
    t.damaged = true;
    return t;
  }
  const count = u32(bytes, 36);
  const first = u32(bytes, 40);
  const kinds = new Map<number, number>();
  const nodes: { off: number; type: number; len: number; rev: number }[] = [];
  let off = first;
  for (let i = 0; i < Math.min(count, MAX_NODES); i++) {
    if (off + NODE_HEADER > end) {
      t.problems.push(`${label}: node ${i} at ${hexOffset(off)} runs past the table (${end} bytes); ${count - i} node(s) lost`);
      t.damaged = true;
      break;
    }
    const type = u8(bytes, off);
    const len = u16(bytes, off + 1);
    if (len < NODE_HEADER || off + len > end) {
      t.problems.push(`${label}: node ${i} at ${hexOffset(off)} has length ${len}${len < NODE_HEADER ? ' (under the 16-byte node header)' : ` (past the table's ${end} bytes)`}; the walk stops`);
      t.damaged = true;
      break;
    }
    nodes.push({ off, type, len, rev: u8(bytes, off + 3) });
    kinds.set(off, type);
    off += len;
  }
  if (count > MAX_NODES) t.problems.push(`${label}: ${count} nodes claimed; only the first ${MAX_NODES} read`);
  const kindName = (ref: number): string => {
    const k = kinds.get(ref);
    if (k === NODE.SMMUV3) return 'smmuv3';
    if (k === NODE.SMMU) return 'smmu';
    if (k === NODE.ITS) return 'its';
    return k === undefined ? `no node at ${hexOffset(ref)}` : `node type ${k}`;
  };
  const mappings = (n: { off: number; len: number }): IortMapping[] => {
    const num = u32(bytes, n.off + 8);
    const at = u32(bytes, n.off + 12);
    const out: IortMapping[] = [];
    if (num === 0) return out;
    if (at < NODE_HEADER || n.off + at + num * MAPPING > n.off + n.len) {
      t.problems.push(`${label}: node at ${hexOffset(n.off)}: ${num} ID mapping(s) at ${hexOffset(at)} run past the node (${n.len} bytes); mappings ignored`);
      t.damaged = true;
      return out;
    }
    for (let j = 0; j < num; j++) {
      const m = n.off + at + j * MAPPING;
      const outputRef = u32(bytes, m + 12);
      out.push({ inputBase: u32(bytes, m), count: u32(bytes, m + 4) + 1, outputBase: u32(bytes, m + 8), outputRef, outputKind: kindName(outputRef) });
    }
    return out;
  };
  for (const n of nodes) {
    const d = n.off + NODE_HEADER;
    const need = (bytesNeeded: number, what: string): boolean => {
      if (n.len >= NODE_HEADER + bytesNeeded) return true;
      t.problems.push(`${label}: ${what} node at ${hexOffset(n.off)} is ${n.len} bytes, shorter than its ${NODE_HEADER + bytesNeeded}-byte fixed part; skipped`);
      t.damaged = true;
      return false;
    };
    switch (n.type) {
      case NODE.ITS:
        t.itsGroups++;
        break;
      case NODE.NAMED:
        t.namedComponents++;
        break;
      case NODE.RC: {
        if (!need(20, 'root complex')) break;
        const rc: IortRootComplex = { offset: n.off, segment: u32(bytes, d + 12), ats: (u32(bytes, d + 8) & 1) === 1, mappings: mappings(n) };
        for (const m of rc.mappings) {
          if (m.outputKind.startsWith('no node')) t.problems.push(`${label}: root complex at ${hexOffset(n.off)} maps IDs ${hexOffset(m.inputBase)}+${m.count} to ${m.outputKind}`);
        }
        t.rootComplexes.push(rc);
        break;
      }
      case NODE.SMMU:
        if (!need(24, 'SMMUv1/v2')) break;
        t.smmus.push({ offset: n.off, version: 2, base: hexAddress(u64(bytes, d)), baseValue: u64(bytes, d), model: u32(bytes, d + 16), flags: u32(bytes, d + 20), coherent: (u32(bytes, d + 20) & 2) !== 0 });
        break;
      case NODE.SMMUV3:
        if (!need(44, 'SMMUv3')) break;
        t.smmus.push({ offset: n.off, version: 3, base: hexAddress(u64(bytes, d)), baseValue: u64(bytes, d), model: u32(bytes, d + 24), flags: u32(bytes, d + 8), coherent: (u32(bytes, d + 8) & 1) !== 0 });
        break;
      case NODE.PMCG:
        break;
      case NODE.RMR: {
        if (!need(12, 'RMR')) break;
        const rcount = u32(bytes, d + 4);
        const roff = u32(bytes, d + 8);
        const rmr: IortRmr = { offset: n.off, flags: u32(bytes, d), ranges: [], streams: [] };
        if (rcount > 0 && (roff < NODE_HEADER || roff + rcount * 20 > n.len)) {
          t.problems.push(`${label}: RMR node at ${hexOffset(n.off)}: ${rcount} memory range(s) at ${hexOffset(roff)} run past the node; ranges ignored`);
          t.damaged = true;
        } else {
          for (let j = 0; j < rcount; j++) rmr.ranges.push({ base: hexAddress(u64(bytes, n.off + roff + j * 20)), length: hexAddress(u64(bytes, n.off + roff + j * 20 + 8)) });
        }
        // iort_node_get_rmr_info(): each mapping's output base is a stream ID of the referenced SMMU.
        for (const m of mappings(n)) rmr.streams.push({ smmu: m.outputRef, first: m.outputBase, count: m.count });
        t.rmrs.push(rmr);
        break;
      }
      default:
        t.problems.push(`${label}: node type ${n.type} at ${hexOffset(n.off)} not known to this agent; skipped`);
    }
  }
  return t;
}

/**
 * Which SMMU (by node offset) translates a PCI function: the root complex of its segment maps its
 * requester ID either to an SMMU (then the stream ID is output base + offset) or straight to an ITS
 * (no SMMU). null when no root complex or mapping covers it.
 */
export function iortSmmuFor(t: IortTable, segment: number, rid: number): { smmu: number; streamId: number } | { smmu: null; via: string } | null {
  for (const rc of t.rootComplexes) {
    if (rc.segment !== segment) continue;
    for (const m of rc.mappings) {
      if (rid < m.inputBase || rid >= m.inputBase + m.count) continue;
      if (m.outputKind === 'smmuv3' || m.outputKind === 'smmu') return { smmu: m.outputRef, streamId: m.outputBase + (rid - m.inputBase) };
      return { smmu: null, via: m.outputKind };
    }
  }
  return null;
}
