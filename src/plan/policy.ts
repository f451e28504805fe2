import { formatBdf, parseBdf } from '../pci/bdf.js';
import type { ScanDevice } from '../scan/scan-result.js';

/**
 * Which functions the plan may reset. By default: every DMA-capable function that is not a bridge, the
 * IOMMU or a host bridge; in IOMMU case 1 none unless `all`.
 */
export interface Policy {
  /** Only these (BDF, vendor:device or class selectors); everything else is excluded. */
  only?: string[];
  /** Never these; a bus reset that would cover one of them is not planned. */
  exclude?: string[];
  /** Reset in IOMMU case 1 too (stray DMA is harmless there). */
  all?: boolean;
  /** Most steps in one wave (default 32). */
  waveSize?: number;
}

export type Selector =
  | { kind: 'bdf'; text: string; bdf: string }
  | { kind: 'id'; text: string; vendor: number; device: number | null }
  | { kind: 'class'; text: string; value: number; mask: number };

export class SelectorError extends Error {}

/**
 * `0000:01:00.0` or `01:00.0` (domain 0000), `8086:1572` or `8086:*`, `class=01`, `class=0108`,
 * `class=010802`. Anything else is an error naming the selector.
 */
export function parseSelector(text: string): Selector {
  const t = text.trim().toLowerCase();
  const full = parseBdf(t) ?? parseBdf(`0000:${t}`);
  if (full) return { kind: 'bdf', text, bdf: formatBdf(full) };
  const id = /^([0-9a-f]{4}):([0-9a-f]{4}|\*)$/.exec(t);
  if (id) return { kind: 'id', text, vendor: parseInt(id[1]!, 16), device: id[2] === '*' ? null : parseInt(id[2]!, 16) };
  const cls = /^class=(?:0x)?([0-9a-f]{2}|[0-9a-f]{4}|[0-9a-f]{6})$/.exec(t);
  if (cls) {
    const d = cls[1]!;
    const shift = 8 * (3 - d.length / 2);
    return { kind: 'class', text, value: parseInt(d, 16) << shift, mask: (0xffffff << shift) & 0xffffff };
  }
  throw new SelectorError(
    `${JSON.stringify(text)} is not a selector: expected a BDF (0000:01:00.0 or 01:00.0), vendor:device (8086:1572, 8086:*) or class=CC[SS[PP]] (class=0108)`,
  );
}

/** Split comma-separated option values and parse each. */
export function parseSelectors(values: string[] | undefined): Selector[] {
  return (values ?? []).flatMap((v) => v.split(',')).filter((v) => v.trim() !== '').map(parseSelector);
}

export function selects(sel: Selector, d: ScanDevice): boolean {
  switch (sel.kind) {
    case 'bdf':
      return d.bdf === sel.bdf;
    case 'id':
      return (
        d.vendor !== null && parseInt(d.vendor, 16) === sel.vendor && (sel.device === null || (d.device !== null && parseInt(d.device, 16) === sel.device))
      );
    case 'class':
      return d.class !== null && (parseInt(d.class, 16) & sel.mask) === sel.value;
  }
}
