/** A PCI function address: segment (domain), bus, device, function. */
export interface Bdf {
  domain: number;
  bus: number;
  dev: number;
  fn: number;
}

const BDF_RE = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/i;

/** Parse `DDDD:BB:dd.f` (the sysfs directory name); null for anything else. */
export function parseBdf(text: string): Bdf | null {
  const m = BDF_RE.exec(text);
  if (!m) return null;
  const dev = parseInt(m[3]!, 16);
  if (dev > 0x1f) return null;
  return { domain: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16), dev, fn: parseInt(m[4]!, 10) };
}

/** Already in canonical form: what the kernel names every function with a 16-bit domain. */
const CANONICAL_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/;

/** The canonical form of a BDF written any accepted way; null when it is not one. Allocation-free for canonical input. */
export function canonicalBdf(text: string): string | null {
  if (CANONICAL_RE.test(text)) return text;
  const parsed = parseBdf(text);
  return parsed ? formatBdf(parsed) : null;
}

/** A number that orders functions as compareBdf does, to sort thousands without parsing in every comparison. */
export function bdfSortKey(bdf: string): number {
  const b = parseBdf(bdf);
  // Domains have at most 8 hex digits, so the key stays below 2^48: exact in a double.
  return b ? b.domain * 0x10000 + b.bus * 0x100 + b.dev * 8 + b.fn : -1;
}

/** BDFs in lspci order (domain, bus, device, function); each parsed once. */
export function sortBdfs(bdfs: string[]): string[] {
  const keyed = bdfs.map((bdf) => ({ bdf, key: bdfSortKey(bdf) }));
  keyed.sort((a, b) => a.key - b.key || (a.bdf < b.bdf ? -1 : a.bdf > b.bdf ? 1 : 0));
  return keyed.map((k) => k.bdf);
}

export function isBdf(text: string): boolean {
  return parseBdf(text) !== null;
}

/** Canonical lowercase form, the domain padded to 4 digits (wider domains, e.g. VMD's 10000, kept whole). */
export function formatBdf(b: Bdf): string {
  return `${hex(b.domain, 4)}:${hex(b.bus, 2)}:${hex(b.dev, 2)}.${b.fn}`;
}

/** `DDDD:BB`: the bus a function sits on. */
export function busKey(bdf: string): string {
  return bdf.slice(0, bdf.lastIndexOf(':'));
}

/** Sort key that orders functions as lspci does: domain, bus, device, function. */
export function compareBdf(a: string, b: string): number {
  const pa = parseBdf(a);
  const pb = parseBdf(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  return pa.domain - pb.domain || pa.bus - pb.bus || pa.dev - pb.dev || pa.fn - pb.fn;
}

export function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
