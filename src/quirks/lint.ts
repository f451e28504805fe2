import { outranks } from './match.js';
import { formatActions, formatMatch, parseQuirks } from './parse.js';
import { cite, type QuirkEntry, type QuirkMatch } from './quirk-types.js';

export interface Finding {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface LintSource {
  label: string;
  text: string;
  /** Findings located in this table are reported (the default table is context when linting admin files). */
  report: boolean;
  /** Why the table may not be trusted (ownership, mode, size, not a file): an error, as loading refuses it. */
  refused?: string;
  /** What was accepted only by exception (a table owned by a user inside a mock root): a warning. */
  notes?: string[];
}

/**
 * The one validator of quirk tables, used by `quirks lint` and by loading alike (src/quirks/load.ts), so
 * that lint fails exactly what the agent refuses and the agent refuses exactly what lint fails.
 * It finds: untrusted tables (refused), syntax (every error, not just the first), entries that
 * contradict themselves or each other, duplicates and entries that never take effect. Errors are what
 * cannot mean anything (loading refuses the table); warnings are legal but almost certainly not what
 * was meant.
 */
export function lintTables(sources: LintSource[]): { findings: Finding[]; entries: number; all: QuirkEntry[]; counts: number[] } {
  const findings: Finding[] = [];
  const entries: QuirkEntry[] = [];
  const counts: number[] = [];
  const reported = new Set(sources.filter((s) => s.report).map((s) => s.label));
  sources.forEach((s, i) => {
    if (s.report && s.refused) findings.push({ file: s.label, line: 1, column: 1, severity: 'error', message: s.refused });
    if (s.report) for (const n of s.notes ?? []) findings.push({ file: s.label, line: 1, column: 1, severity: 'warning', message: n });
    const r = parseQuirks(s.text, s.label, i, { collect: true });
    if (s.report) for (const e of r.errors) findings.push({ file: e.file, line: e.line, column: e.column, severity: 'error', message: e.detail });
    // One by one: a spread of 150,000 entries would overflow the call stack.
    for (const e of r.entries) entries.push(e);
    counts.push(r.entries.length);
  });
  const at = (e: QuirkEntry, severity: Finding['severity'], message: string): void => {
    if (reported.has(e.file)) findings.push({ file: e.file, line: e.line, column: e.column, severity, message });
  };

  for (const e of entries) selfCheck(e, at);
  pairChecks(entries, at);
  findings.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : 0));
  return { findings, entries: entries.filter((e) => reported.has(e.file)).length, all: entries, counts };
}

/**
 * Every pair check, without comparing every pair: a contradiction needs an entry that forbids a method
 * (few) of the same vendor or any vendor; duplicates and shadowing need the same match (grouped by its
 * canonical text). A 150,000-entry table is then checked in about the time it takes to parse.
 */
function pairChecks(entries: QuirkEntry[], at: At): void {
  const index = new Map<QuirkEntry, number>(entries.map((e, i) => [e, i]));
  const forbidders = new Map<number | null, QuirkEntry[]>();
  const sameMatch = new Map<string, QuirkEntry[]>();
  for (const e of entries) {
    if (e.noFlr || e.noPm || e.noBus) {
      const list = forbidders.get(e.match.vendor) ?? [];
      list.push(e);
      forbidders.set(e.match.vendor, list);
    }
    const key = formatMatch(e.match);
    const group = sameMatch.get(key);
    if (group) group.push(e);
    else sameMatch.set(key, [e]);
  }
  for (const a of entries) {
    if (!a.prefer) continue;
    const candidates = [...(forbidders.get(a.match.vendor) ?? []), ...(a.match.vendor === null ? [] : (forbidders.get(null) ?? []))];
    for (const b of candidates) if (b !== a) contradiction(a, b, at);
  }
  for (const group of sameMatch.values()) {
    if (group.length < 2) continue;
    for (const a of group) {
      for (const b of group) if (a !== b) samePair(a, b, at, index.get(a)! < index.get(b)!);
    }
  }
}

const FORBID_OF: Record<string, 'noFlr' | 'noPm' | 'noBus'> = {
  flr: 'noFlr',
  af_flr: 'noFlr',
  'kernel:flr': 'noFlr',
  'kernel:af_flr': 'noFlr',
  pm: 'noPm',
  'kernel:pm': 'noPm',
  bus: 'noBus',
  'kernel:bus': 'noBus',
  'kernel:cxl_bus': 'noBus',
};
const FLAG_NAME = { noFlr: 'no_flr', noPm: 'no_pm', noBus: 'no_bus' } as const;

type At = (e: QuirkEntry, severity: Finding['severity'], message: string) => void;

function selfCheck(e: QuirkEntry, at: At): void {
  for (const m of e.prefer ?? []) {
    const f = FORBID_OF[m];
    if (f && e[f]) at(e, 'error', `prefers ${m} and forbids it (${FLAG_NAME[f]}) in the same entry`);
  }
  if (e.assumeFlr && e.noFlr) at(e, 'error', 'assume=flr and no_flr in the same entry');
  if (e.info && (e.prefer || e.skip || e.noDma || e.noFlr || e.noPm || e.noBus || e.waitMs !== null || e.d3hotMs !== null || e.d3coldMs !== null || e.d3hotGlobalMs !== null || e.assumeFlr)) {
    at(e, 'warning', 'info beside other actions adds nothing (info is for entries that only document)');
  }
  if ((e.skip || e.noDma) && (e.noFlr || e.noPm || e.noBus || e.waitMs !== null || e.d3hotMs !== null || e.assumeFlr)) {
    at(e, 'warning', `${e.skip ? 'skip' : 'no_dma'} means the function is never reset; the method settings beside it only matter for bus resets of others`);
  }
  if (e.match.vendor === null && e.match.deviceLo !== null) at(e, 'warning', 'a device ID without a vendor (*:DDDD) matches that ID of every vendor');
}

/** Whether every function that matches `inner` also matches `outer`. */
export function covers(outer: QuirkMatch, inner: QuirkMatch): boolean {
  const id = (o: number | null, i: number | null): boolean => o === null || o === i;
  if (!id(outer.vendor, inner.vendor)) return false;
  if (outer.deviceLo !== null && (inner.deviceLo === null || inner.deviceLo < outer.deviceLo || inner.deviceHi! > outer.deviceHi!)) return false;
  if (!id(outer.subsystemVendor, inner.subsystemVendor) || !id(outer.subsystemDevice, inner.subsystemDevice)) return false;
  if (outer.classMask !== 0 && ((outer.classMask & inner.classMask) !== outer.classMask || (inner.classValue & outer.classMask) !== outer.classValue)) return false;
  if (outer.revLo !== null && (inner.revLo === null || inner.revLo < outer.revLo || inner.revHi! > outer.revHi!)) return false;
  if (outer.rootBus !== null && inner.rootBus !== outer.rootBus) return false;
  return true;
}

function sameMatch(a: QuirkMatch, b: QuirkMatch): boolean {
  return covers(a, b) && covers(b, a);
}

/** Settings decided by precedence (the winner alone counts). */
function precedenceSettings(e: QuirkEntry): Map<string, string> {
  const s = new Map<string, string>();
  if (e.skip) s.set('what', 'skip');
  else if (e.noDma) s.set('what', 'no_dma');
  else if (e.prefer) s.set('what', `prefer=${e.prefer.join(',')}`);
  if (e.waitMs !== null) s.set('wait', `${e.waitMs}ms`);
  if (e.d3hotMs !== null) s.set('d3hot', `${e.d3hotMs}ms`);
  if (e.d3coldMs !== null) s.set('d3cold', `${e.d3coldMs}ms`);
  if (e.d3hotGlobalMs !== null) s.set('d3hot_global', `${e.d3hotGlobalMs}ms`);
  return s;
}

/** Settings that add up across entries (any entry counts). */
function cumulative(e: QuirkEntry): string[] {
  const out: string[] = [];
  if (e.noFlr) out.push('no_flr');
  if (e.noPm) out.push('no_pm');
  if (e.noBus) out.push('no_bus');
  if (e.assumeFlr) out.push('assume=flr');
  if (e.info) out.push('info');
  return out;
}

/** Contradiction: every function `a` matches is also matched by `b`, which forbids what `a` prefers. */
function contradiction(a: QuirkEntry, b: QuirkEntry, at: At): void {
  if (!a.prefer || !covers(b.match, a.match)) return;
  const dead = a.prefer.filter((m) => {
    const f = FORBID_OF[m];
    return f !== undefined && b[f];
  });
  if (dead.length) {
    const all = dead.length === a.prefer.length;
    at(a, all ? 'error' : 'warning', `prefers ${dead.join(',')}, which ${cite(b)} forbids for every function this entry matches${all ? ' (the preference can never apply)' : ''}`);
  }
}

/** Two entries with the same match: a duplicate, or one that overrides or shadows the other. */
function samePair(a: QuirkEntry, b: QuirkEntry, at: At, firstOfPair: boolean): void {
  if (!sameMatch(a.match, b.match)) return;
  if (firstOfPair && formatActions(a) === formatActions(b)) {
    at(b, 'warning', `duplicate of ${cite(a)} (same match, same actions)`);
    return;
  }
  if (formatActions(a) === formatActions(b)) return;
  // Shadowed: b outranks a on every setting a decides by precedence, and a adds nothing cumulative that b lacks.
  if (!outranks(b, a)) return;
  const sa = precedenceSettings(a);
  const sb = precedenceSettings(b);
  for (const [k, v] of sa) {
    const w = sb.get(k);
    if (w !== undefined && w !== v) at(a, 'warning', `${k === 'what' ? v : `${k}=${v}`} is overridden by ${cite(b)} (${k === 'what' ? w : `${k}=${w}`}) for the same match`);
  }
  const extra = cumulative(a).filter((c) => !cumulative(b).includes(c));
  if (sa.size > 0 && [...sa.keys()].every((k) => sb.has(k)) && extra.length === 0) {
    at(a, 'warning', `shadowed by ${cite(b)}: it never takes effect`);
  }
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.severity}: ${f.message}`;
}
