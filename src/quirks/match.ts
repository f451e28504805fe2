import type { ScanDevice } from '../scan/scan-result.js';
import type { QuirkEntry, QuirkMatch, QuirkMethod, QuirkSubject, QuirkTable } from './quirk-types.js';

/**
 * Which entries apply to a function, and what they add up to.
 *
 * Precedence, per setting (what to do: prefer=/skip/no_dma; wait; d3hot; d3cold): the most specific matching entry that sets
 * it wins; at equal specificity the later table wins, and within a table the later line. Forbidden
 * methods (no_flr, no_pm, no_bus) never cancel out: any matching entry that forbids a method forbids it.
 * `info` reasons all apply.
 */

/**
 * Specificity, compared key by key in this order: subsystem device, subsystem vendor, device (an exact ID
 * over a range), vendor, revision (exact over a range), class, root bus. The weights make the sum compare
 * the same way: each key outweighs all the keys after it together.
 */
export function specificity(m: QuirkMatch): number {
  let s = 0;
  if (m.subsystemDevice !== null) s += 256;
  if (m.subsystemVendor !== null) s += 128;
  if (m.deviceLo !== null) s += m.deviceLo === m.deviceHi ? 64 : 32;
  if (m.vendor !== null) s += 16;
  if (m.revLo !== null) s += m.revLo === m.revHi ? 8 : 4;
  if (m.classMask !== 0) s += 2;
  if (m.rootBus !== null) s += 1;
  return s;
}

/** True when `a` takes precedence over `b`. */
export function outranks(a: QuirkEntry, b: QuirkEntry): boolean {
  const sa = specificity(a.match);
  const sb = specificity(b.match);
  if (sa !== sb) return sa > sb;
  if (a.fileIndex !== b.fileIndex) return a.fileIndex > b.fileIndex;
  return a.line > b.line;
}

/**
 * Whether an entry matches. `unknown` when the entry keys on something the subject does not say (a
 * lookup by IDs alone, an unreadable class): such entries are shown by `quirks lookup` but never applied.
 */
export function matchEntry(m: QuirkMatch, s: QuirkSubject): boolean | 'unknown' {
  let unknown = false;
  const idOk = (want: number | null, have: number | null): boolean => {
    if (want === null) return true;
    if (have === null) {
      unknown = true;
      return true;
    }
    return want === have;
  };
  if (!idOk(m.vendor, s.vendor)) return false;
  if (m.deviceLo !== null) {
    if (s.device === null) unknown = true;
    else if (s.device < m.deviceLo || s.device > m.deviceHi!) return false;
  }
  if (!idOk(m.subsystemVendor, s.subsystemVendor)) return false;
  if (!idOk(m.subsystemDevice, s.subsystemDevice)) return false;
  if (m.classMask !== 0) {
    if (s.classCode === null) unknown = true;
    else if ((s.classCode & m.classMask) !== m.classValue) return false;
  }
  if (m.revLo !== null) {
    if (s.revision === null) unknown = true;
    else if (s.revision < m.revLo || s.revision > m.revHi!) return false;
  }
  if (m.rootBus !== null) {
    if (s.rootBus === null) unknown = true;
    else if (s.rootBus !== m.rootBus) return false;
  }
  return unknown ? 'unknown' : true;
}

export interface Won<T> {
  value: T;
  from: QuirkEntry;
}

/** What the matching entries add up to for one function. */
export interface EffectiveQuirks {
  /** Every matching entry, the one with the highest precedence first. */
  matched: QuirkEntry[];
  /** `prefer=` list from the winning entry that sets prefer or skip (null when it says skip). */
  prefer: Won<QuirkMethod[]> | null;
  /** The winning prefer/skip/no_dma entry says skip. */
  skip: QuirkEntry | null;
  /** The winning prefer/skip/no_dma entry says the function does no DMA. */
  noDma: QuirkEntry | null;
  /** Every matching entry that forbids the method. */
  noFlr: QuirkEntry[];
  noPm: QuirkEntry[];
  noBus: QuirkEntry[];
  waitMs: Won<number> | null;
  d3hotMs: Won<number> | null;
  d3hotGlobalMs: Won<number> | null;
  d3coldMs: Won<number> | null;
  assumeFlr: QuirkEntry | null;
  info: QuirkEntry[];
}

export interface LookupResult {
  effective: EffectiveQuirks;
  /** Entries that would match if the subject said more (class, revision, root bus). */
  conditional: QuirkEntry[];
}

const indexCache = new WeakMap<QuirkTable, Map<number | null, QuirkEntry[]>>();

/** Entries by vendor (null = any vendor): a 5,000-function plan looks up each function once. */
function index(table: QuirkTable): Map<number | null, QuirkEntry[]> {
  let idx = indexCache.get(table);
  if (idx) return idx;
  idx = new Map();
  for (const e of table.entries) {
    let list = idx.get(e.match.vendor);
    if (!list) idx.set(e.match.vendor, (list = []));
    list.push(e);
  }
  indexCache.set(table, idx);
  return idx;
}

export function lookup(table: QuirkTable, subject: QuirkSubject): LookupResult {
  const idx = index(table);
  const candidates =
    subject.vendor === null ? table.entries : [...(idx.get(subject.vendor) ?? []), ...(idx.get(null) ?? [])];
  const matched: QuirkEntry[] = [];
  const conditional: QuirkEntry[] = [];
  for (const e of candidates) {
    const r = matchEntry(e.match, subject);
    if (r === true) matched.push(e);
    else if (r === 'unknown') conditional.push(e);
  }
  const byRank = (a: QuirkEntry, b: QuirkEntry): number => (outranks(a, b) ? -1 : outranks(b, a) ? 1 : 0);
  matched.sort(byRank);
  conditional.sort(byRank);
  return { effective: combine(matched), conditional };
}

/** Combine matching entries already sorted by precedence (highest first). */
export function combine(matched: QuirkEntry[]): EffectiveQuirks {
  const first = <T>(get: (e: QuirkEntry) => T | null): Won<T> | null => {
    for (const e of matched) {
      const v = get(e);
      if (v !== null) return { value: v, from: e };
    }
    return null;
  };
  const what = matched.find((e) => e.skip || e.noDma || e.prefer !== null) ?? null;
  return {
    matched,
    prefer: what && what.prefer !== null ? { value: what.prefer, from: what } : null,
    skip: what && what.skip ? what : null,
    noDma: what && what.noDma ? what : null,
    noFlr: matched.filter((e) => e.noFlr),
    noPm: matched.filter((e) => e.noPm),
    noBus: matched.filter((e) => e.noBus),
    waitMs: first((e) => e.waitMs),
    d3hotMs: first((e) => e.d3hotMs),
    d3hotGlobalMs: first((e) => e.d3hotGlobalMs),
    d3coldMs: first((e) => e.d3coldMs),
    assumeFlr: matched.find((e) => e.assumeFlr) ?? null,
    info: matched.filter((e) => e.info),
  };
}

/** The table's view of a scanned function. */
export function subjectOfDevice(d: ScanDevice): QuirkSubject {
  const n = (s: string | null): number | null => (s === null ? null : parseInt(s, 16));
  return {
    vendor: n(d.vendor),
    device: n(d.device),
    subsystemVendor: n(d.subsystemVendor),
    subsystemDevice: n(d.subsystemDevice),
    classCode: n(d.class),
    revision: n(d.revision),
    rootBus: d.parent === null,
  };
}
