import * as zlib from 'node:zlib';
import type { ReadKind } from '../access/bounded-read.js';
import type { Root } from '../access/root.js';

/**
 * Where pciutils looks for the PCI ID database, under the root: its build-time IDSDIR (pciutils
 * Makefile; Debian and Ubuntu ship /usr/share/misc/pci.ids, Fedora and Arch /usr/share/hwdata/pci.ids),
 * and the `.gz` form lib/names-parse.c reads when built with zlib. The first that exists is used.
 */
export const PCI_IDS_PATHS = ['usr/share/misc/pci.ids', 'usr/share/hwdata/pci.ids', 'usr/share/pci.ids', 'usr/share/misc/pci.ids.gz', 'usr/share/hwdata/pci.ids.gz'];

/** The database is about 1.4 MB (4 MB unpacked is far beyond any release); larger is not read. */
const MAX_BYTES = 16 * 1024 * 1024;
const PCI_IDS: ReadKind = { what: 'PCI ID database', max: MAX_BYTES };

/** Vendor and device names of the vendors asked for. */
export interface PciNames {
  source: string;
  vendor(vendor: number): string | null;
  device(vendor: number, device: number): string | null;
}

/**
 * Names for the given vendors from the root's pci.ids, or null when it has none (names are never
 * required: without them every view shows class names and numbers). Only the vendors asked for are
 * kept, so a scan costs one pass over the file and a few maps. The format (pci.ids header): a vendor
 * line is `VVVV  name` at column 0, a device line `\tDDDD  name`, subsystems `\t\t…`; the class list
 * (`C cc  name`) after the last vendor ends the part read.
 */
export function loadPciIds(root: Root, vendors: Iterable<number>): PciNames | null {
  const wanted = new Set(vendors);
  for (const rel of PCI_IDS_PATHS) {
    const text = readIds(root, rel);
    if (text === null) continue;
    return parse(text, wanted, rel);
  }
  return null;
}

function readIds(root: Root, rel: string): string | null {
  try {
    // Through the root's confined, non-blocking, capped read (src/access): never a FIFO, never a link out.
    const bytes = root.readFile(rel, PCI_IDS);
    return (rel.endsWith('.gz') ? zlib.gunzipSync(bytes, { maxOutputLength: MAX_BYTES }) : bytes).toString('utf8');
  } catch {
    return null;
  }
}

function parse(text: string, wanted: Set<number>, source: string): PciNames {
  const vendorNames = new Map<number, string>();
  const deviceNames = new Map<number, string>();
  let current: number | null = null;
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end);
    at = end + 1;
    if (line === '' || line.charCodeAt(0) === 0x23 /* # */) continue;
    if (line.startsWith('C ')) break;
    const tabs = line.charCodeAt(0) === 0x09 ? (line.charCodeAt(1) === 0x09 ? 2 : 1) : 0;
    const m = /^([0-9a-fA-F]{4})\s+(.+)$/.exec(line.slice(tabs));
    if (!m) continue;
    const id = parseInt(m[1]!, 16);
    if (tabs === 0) {
      current = wanted.has(id) ? id : null;
      if (current !== null) vendorNames.set(id, m[2]!.trim());
    } else if (tabs === 1 && current !== null) {
      deviceNames.set(current * 0x10000 + id, m[2]!.trim());
    }
  }
  return {
    source,
    vendor: (v) => vendorNames.get(v) ?? null,
    device: (v, d) => deviceNames.get(v * 0x10000 + d) ?? null,
  };
}
