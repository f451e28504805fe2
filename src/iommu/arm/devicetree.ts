import type { Root } from '../../access/root.js';
import { describeError } from '../describe-error.js';

/** An SMMU node of the flattened device tree (`compatible = "arm,smmu-v3"`, or an SMMUv1/v2 compatible). */
export interface DtSmmu {
  /** Node path under the tree root (`smmuv3@9050000`). */
  path: string;
  version: 2 | 3;
  base: bigint | null;
  phandle: number | null;
  /** `dma-coherent` present: table walks are coherent. */
  coherent: boolean;
}

/** A PCI host bridge's `iommu-map` (Documentation/devicetree/bindings/pci/pci-iommu.txt): rid-base, iommu phandle, sid-base, length. */
export interface DtIommuMap {
  host: string;
  /** `linux,pci-domain`, 0 when absent (the kernel numbers a single host 0). */
  segment: number;
  entries: { ridBase: number; phandle: number; sidBase: number; length: number }[];
}

export interface DeviceTreeIommu {
  /** Which tree was read: `proc/device-tree` or `sys/firmware/devicetree/base`, null when none. */
  source: string | null;
  smmus: DtSmmu[];
  maps: DtIommuMap[];
  problems: string[];
}

const TREES = ['proc/device-tree', 'sys/firmware/devicetree/base'];
const V3 = /(^|\0)arm,smmu-v3(\0|$)/;
const V2 = /(^|\0)(arm,smmu-v[12]|arm,mmu-[45]\d\d|qcom,[\w-]*smmu-v2|nvidia,smmu-500)(\0|$)/;
const MAX_NODES = 20000;
const MAX_DEPTH = 12;

/**
 * The SMMUs a device tree describes (arm64 machines booted without ACPI, QEMU `virt` among them) and the
 * PCI hosts' `iommu-map`s, read from the kernel's exported tree. A bounded walk: the tree is small, but a
 * mock or a strange firmware must not make it endless.
 */
export function readDeviceTreeIommu(root: Root): DeviceTreeIommu {
  const out: DeviceTreeIommu = { source: null, smmus: [], maps: [], problems: [] };
  let tree: string | null = null;
  for (const t of TREES) {
    try {
      if (root.exists(t)) {
        tree = t;
        break;
      }
    } catch {
      // next
    }
  }
  if (!tree) return out;
  out.source = tree;
  let visited = 0;
  const walk = (rel: string, depth: number): void => {
    if (depth > MAX_DEPTH || visited++ > MAX_NODES) return;
    let names: string[];
    try {
      names = root.list(`${tree}${rel ? `/${rel}` : ''}`);
    } catch (err) {
      out.problems.push(`${tree}/${rel}: ${describeError(err)}`);
      return;
    }
    const has = new Set(names);
    const prop = (name: string): Buffer | null => {
      if (!has.has(name)) return null;
      try {
        return root.readFile(`${tree}${rel ? `/${rel}` : ''}/${name}`);
      } catch (err) {
        out.problems.push(`${tree}/${rel}/${name}: ${describeError(err)}`);
        return null;
      }
    };
    const compatible = prop('compatible')?.toString('latin1') ?? '';
    if (V3.test(compatible) || V2.test(compatible)) {
      const reg = prop('reg');
      const ph = prop('phandle') ?? prop('linux,phandle');
      out.smmus.push({
        path: rel,
        version: V3.test(compatible) ? 3 : 2,
        base: reg && reg.length >= 8 ? reg.readBigUInt64BE(0) : reg && reg.length >= 4 ? BigInt(reg.readUInt32BE(0)) : null,
        phandle: ph && ph.length >= 4 ? ph.readUInt32BE(0) : null,
        coherent: has.has('dma-coherent'),
      });
    }
    const map = prop('iommu-map');
    if (map && map.length >= 16) {
      const dom = prop('linux,pci-domain');
      const entries: DtIommuMap['entries'] = [];
      for (let i = 0; i + 16 <= map.length; i += 16) entries.push({ ridBase: map.readUInt32BE(i), phandle: map.readUInt32BE(i + 4), sidBase: map.readUInt32BE(i + 8), length: map.readUInt32BE(i + 12) });
      out.maps.push({ host: rel, segment: dom && dom.length >= 4 ? dom.readUInt32BE(0) : 0, entries });
    }
    for (const n of names) {
      if (has.has(n) && isNodeName(n) && !PROPERTY_ONLY.has(n)) {
        let isDir = false;
        try {
          isDir = root.list(`${tree}${rel ? `/${rel}` : ''}/${n}`).length >= 0;
        } catch {
          isDir = false;
        }
        if (isDir) walk(rel ? `${rel}/${n}` : n, depth + 1);
      }
    }
  };
  walk('', 0);
  return out;
}

/** Properties never hold nodes; everything else may be a subdirectory (node names carry no marker). */
const PROPERTY_ONLY = new Set(['compatible', 'reg', 'phandle', 'linux,phandle', 'name', 'iommu-map', 'iommu-map-mask', 'status', 'interrupts']);

function isNodeName(n: string): boolean {
  return n !== '' && !n.startsWith('#');
}
