import { KERNEL_METHODS, type QuirkEntry, type QuirkMatch, type QuirkMethod } from './quirk-types.js';

/**
 * The quirk table text format (docs/planner.md, "The quirk table"):
 *
 *   # comment
 *   VVVV:DDDD [key=value | flag]...  reason="why"
 *       indented lines continue the entry above
 *
 * VVVV and DDDD are 4 hex digits or `*`; DDDD may be a range `DDDD-DDDD`. Parsing is strict: the first
 * thing that is not of the format is an error naming file, line, column and what was expected.
 */

export class QuirkSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
    this.name = 'QuirkSyntaxError';
  }
}

export interface ParseResult {
  entries: QuirkEntry[];
  errors: QuirkSyntaxError[];
}

/** Longest wait an entry may ask for: the kdump run has a bounded budget, a typo must not eat it. */
export const MAX_DELAY_MS = 60_000;

const FLAGS = ['no_flr', 'no_pm', 'no_bus', 'skip', 'no_dma', 'info'] as const;
const KEYS = ['subsys', 'class', 'rev', 'rootbus', 'prefer', 'wait', 'd3hot', 'd3hot_global', 'd3cold', 'assume', 'kernel', 'reason'] as const;
type Key = (typeof KEYS)[number];
const PREFERABLE = ['flr', 'af_flr', 'pm', 'bus', 'kernel', ...KERNEL_METHODS.map((m) => `kernel:${m}`), 'vfio', 'skip'];

interface Token {
  line: number;
  column: number;
  /** Text as written. */
  raw: string;
  /** For key=value tokens: the key and the value (quotes removed, escapes decoded). */
  key: string | null;
  value: string;
  /** Column of the value (after `=`), for errors about it. */
  valueColumn: number;
  /** A lone quoted string (continues a reason). */
  quoted: boolean;
}

interface RawEntry {
  line: number;
  tokens: Token[];
  text: string[];
}

/**
 * Parse one table. With `collect`, every line is checked and all errors are returned (for `quirks lint`);
 * otherwise parsing stops at the first error, which is thrown.
 */
export function parseQuirks(text: string, file: string, fileIndex = 0, options: { collect?: boolean } = {}): ParseResult {
  const errors: QuirkSyntaxError[] = [];
  const entries: QuirkEntry[] = [];
  const fail = (line: number, column: number, detail: string): void => {
    const err = new QuirkSyntaxError(file, line, column, detail);
    if (!options.collect) throw err;
    errors.push(err);
  };

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let current: RawEntry | null = null;
  const flush = (): void => {
    if (current) {
      const e = buildEntry(current, file, fileIndex, fail);
      if (e) entries.push(e);
    }
    current = null;
  };

  lines.forEach((lineText, i) => {
    const lineNo = i + 1;
    const nul = lineText.search(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    if (nul >= 0) {
      fail(lineNo, nul + 1, `control character 0x${lineText.charCodeAt(nul).toString(16).padStart(2, '0')} (the table is plain text)`);
      return;
    }
    const trimmed = lineText.trim();
    if (trimmed === '') {
      flush();
      return;
    }
    if (trimmed.startsWith('#')) return;
    const indented = /^[ \t]/.test(lineText);
    let tokens: Token[];
    try {
      tokens = tokenize(lineText, lineNo);
    } catch (err) {
      if (err instanceof TokenError) {
        fail(lineNo, err.column, err.message);
        if (indented && current) current = null; // the entry is broken; do not report it twice
        return;
      }
      throw err;
    }
    if (tokens.length === 0) return;
    if (indented) {
      if (!current) {
        fail(lineNo, tokens[0]!.column, 'indented line outside an entry (indent only to continue the entry above; a blank line ends an entry)');
        return;
      }
      const cur: RawEntry = current;
      cur.tokens.push(...tokens);
      cur.text.push(stripComment(lineText).trim());
      return;
    }
    flush();
    current = { line: lineNo, tokens, text: [stripComment(lineText).trim()] };
  });
  flush();
  return { entries, errors };
}

class TokenError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

// Tokens are sliced out of the line, not built a character at a time: the default table is parsed at
// every start of the agent, and concatenating one character at a time made its parse mostly garbage
// collection (docs/startup.md).
function tokenize(line: string, lineNo: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    if (ch === '#') break;
    const start = i;
    // Where the value being read starts: the token's start, or just past its first `=`.
    let from = i;
    let value: string | null = null;
    let key: string | null = null;
    let valueColumn = start + 1;
    let quoted = false;
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '#') {
      const c = line[i]!;
      if (c === '=' && key === null) {
        key = line.slice(from, i);
        i++;
        from = i;
        valueColumn = i + 1;
        continue;
      }
      if (c === '"') {
        // A quote opens a whole value (reason="...") or a whole token ("..." continuing a reason).
        if (i !== from) throw new TokenError(i + 1, 'a quote may only start a value (write key="...")');
        const q = readQuoted(line, i);
        value = q.text;
        i = q.end;
        if (i < line.length && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '#') {
          throw new TokenError(i + 1, 'expected a space after the closing quote');
        }
        quoted = key === null;
        break;
      }
      i++;
    }
    out.push({ line: lineNo, column: start + 1, raw: line.slice(start, i), key, value: value ?? line.slice(from, i), valueColumn, quoted });
  }
  return out;
}

function readQuoted(line: string, at: number): { text: string; end: number } {
  let i = at + 1;
  let text = '';
  for (;;) {
    const quote = line.indexOf('"', i);
    const escape = line.indexOf('\\', i);
    if (escape >= 0 && (quote < 0 || escape < quote)) {
      const n = line[escape + 1];
      if (n === '"' || n === '\\') {
        text += line.slice(i, escape) + n;
        i = escape + 2;
        continue;
      }
      throw new TokenError(escape + 1, `unknown escape \\${n ?? ''} in a quoted string (only \\" and \\\\ are escapes)`);
    }
    if (quote < 0) break;
    return { text: text + line.slice(i, quote), end: quote + 1 };
  }
  throw new TokenError(at + 1, 'quoted string is not closed on this line (end it with "; continue a long reason with another "..." on an indented line)');
}

function stripComment(line: string): string {
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && inQuote) {
      i++;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    if (c === '#' && !inQuote) return line.slice(0, i);
  }
  return line;
}

type Fail = (line: number, column: number, detail: string) => void;

const HEX4 = /^[0-9a-fA-F]{4}$/;

function parseId(text: string): number | null | undefined {
  if (text === '*') return null;
  if (HEX4.test(text)) return parseInt(text, 16);
  return undefined;
}

function buildEntry(raw: RawEntry, file: string, fileIndex: number, fail: Fail): QuirkEntry | null {
  const [first, ...rest] = raw.tokens;
  const bad = (t: { line: number; column: number }, detail: string): null => {
    fail(t.line, t.column, detail);
    return null;
  };
  if (!first) return null;
  if (first.key !== null || first.quoted) {
    return bad(first, `expected the match VVVV:DDDD first (4 hex digits each, * for any, the device may be a range DDDD-DDDD), found ${show(first.raw)}`);
  }
  const m = /^([^:]*):(.*)$/.exec(first.raw);
  const match: QuirkMatch = {
    vendor: null,
    deviceLo: null,
    deviceHi: null,
    subsystemVendor: null,
    subsystemDevice: null,
    classValue: 0,
    classMask: 0,
    revLo: null,
    revHi: null,
    rootBus: null,
  };
  if (!m) return bad(first, `expected the match VVVV:DDDD (vendor:device, 4 hex digits each or *), found ${show(first.raw)}`);
  const vendor = parseId(m[1]!);
  if (vendor === undefined) return bad(first, `expected a vendor ID of 4 hex digits or *, found ${show(m[1]!)}`);
  match.vendor = vendor;
  const devText = m[2]!;
  const devColumn = first.column + m[1]!.length + 1;
  const range = /^([0-9a-fA-F]{4})-([0-9a-fA-F]{4})$/.exec(devText);
  if (range) {
    const lo = parseInt(range[1]!, 16);
    const hi = parseInt(range[2]!, 16);
    if (lo > hi) return bad({ line: first.line, column: devColumn }, `device range ${devText} runs backwards (expected low-high)`);
    match.deviceLo = lo;
    match.deviceHi = hi;
  } else {
    const dev = parseId(devText);
    if (dev === undefined) {
      return bad({ line: first.line, column: devColumn }, `expected a device ID of 4 hex digits, * or a range DDDD-DDDD, found ${show(devText)}`);
    }
    match.deviceLo = dev;
    match.deviceHi = dev;
  }

  const entry: QuirkEntry = {
    file,
    fileIndex,
    line: raw.line,
    column: first.column,
    match,
    prefer: null,
    skip: false,
    noDma: false,
    noFlr: false,
    noPm: false,
    noBus: false,
    waitMs: null,
    d3hotMs: null,
    d3hotGlobalMs: null,
    d3coldMs: null,
    assumeFlr: false,
    info: false,
    kernel: null,
    reason: '',
    text: raw.text.join(' '),
  };
  const seen = new Set<string>();
  let reasonSeen = false;
  let lastWasReason = false;
  for (const t of rest) {
    if (t.quoted) {
      if (!lastWasReason) return bad(t, 'a quoted string on its own only continues reason="..." (write reason="...")');
      entry.reason += t.value;
      continue;
    }
    lastWasReason = false;
    if (t.key === null) {
      if (!(FLAGS as readonly string[]).includes(t.raw)) {
        // (no_dma, skip and prefer= share one slot: what to do with the function.)
        const hint = (KEYS as readonly string[]).includes(t.raw) ? ` (${t.raw} takes a value: ${t.raw}=...)` : '';
        return bad(t, `unknown word ${show(t.raw)}${hint}; expected one of ${FLAGS.join(', ')} or key=value with key one of ${KEYS.join(', ')}`);
      }
      if (seen.has(t.raw)) return bad(t, `${t.raw} given twice in one entry`);
      seen.add(t.raw);
      if (t.raw === 'no_flr') entry.noFlr = true;
      else if (t.raw === 'no_pm') entry.noPm = true;
      else if (t.raw === 'no_bus') entry.noBus = true;
      else if (t.raw === 'info') entry.info = true;
      else if (t.raw === 'no_dma') {
        if (seen.has('prefer')) return bad(t, 'no_dma with skip or prefer=... in one entry (no_dma means: nothing to reset)');
        seen.add('prefer');
        entry.noDma = true;
      } else {
        if (seen.has('prefer')) return bad(t, `skip and ${entry.noDma ? 'no_dma' : 'prefer=...'} in one entry (they are alternatives)`);
        seen.add('prefer');
        entry.skip = true;
      }
      continue;
    }
    const key = t.key as Key;
    if (!(KEYS as readonly string[]).includes(key)) {
      const hint = (FLAGS as readonly string[]).includes(key) ? ` (${key} is a flag and takes no value)` : '';
      return bad(t, `unknown key ${show(t.key)}${hint}; expected one of ${KEYS.join(', ')}`);
    }
    if (seen.has(key)) {
      if (key === 'prefer' && (entry.skip || entry.noDma)) return bad(t, `${entry.skip ? 'skip' : 'no_dma'} and prefer=... in one entry (they are alternatives)`);
      return bad(t, `${key}= given twice in one entry`);
    }
    seen.add(key);
    const at = { line: t.line, column: t.valueColumn };
    const v = t.value;
    switch (key) {
      case 'subsys': {
        const s = /^([^:]*):(.*)$/.exec(v);
        const sv = s ? parseId(s[1]!) : undefined;
        const sd = s ? parseId(s[2]!) : undefined;
        if (!s || sv === undefined || sd === undefined) return bad(at, `expected subsys=SVVV:SDDD (4 hex digits each, or *), found ${show(v)}`);
        if (sv === null && sd === null) return bad(at, 'subsys=*:* matches everything; leave it out');
        match.subsystemVendor = sv;
        match.subsystemDevice = sd;
        break;
      }
      case 'class': {
        const c = parseClass(v);
        if (typeof c === 'string') return bad(at, c);
        match.classValue = c.value;
        match.classMask = c.mask;
        break;
      }
      case 'rev': {
        const r = /^([0-9a-fA-F]{2})(?:-([0-9a-fA-F]{2}))?$/.exec(v);
        if (!r) return bad(at, `expected rev=RR or rev=RR-RR (2 hex digits), found ${show(v)}`);
        const lo = parseInt(r[1]!, 16);
        const hi = r[2] === undefined ? lo : parseInt(r[2], 16);
        if (lo > hi) return bad(at, `revision range ${v} runs backwards (expected low-high)`);
        match.revLo = lo;
        match.revHi = hi;
        break;
      }
      case 'rootbus':
        if (v !== 'yes' && v !== 'no') return bad(at, `expected rootbus=yes or rootbus=no, found ${show(v)}`);
        match.rootBus = v === 'yes';
        break;
      case 'prefer': {
        const items = v.split(',');
        const list: QuirkMethod[] = [];
        let col = t.valueColumn;
        for (const item of items) {
          if (!PREFERABLE.includes(item)) {
            return bad({ line: t.line, column: col }, `unknown method ${show(item)}; expected one of flr, af_flr, pm, bus, kernel, kernel:<${KERNEL_METHODS.join('|')}>, vfio, skip`);
          }
          if (item === 'skip') {
            if (items.length > 1) return bad({ line: t.line, column: col }, 'skip cannot be combined with other methods (skip means: do not reset at all)');
            entry.skip = true;
          } else {
            if (list.includes(item as QuirkMethod)) return bad({ line: t.line, column: col }, `method ${item} listed twice`);
            list.push(item as QuirkMethod);
          }
          col += item.length + 1;
        }
        if (!entry.skip) entry.prefer = list;
        break;
      }
      case 'wait':
      case 'd3hot':
      case 'd3hot_global':
      case 'd3cold': {
        const ms = parseDuration(v);
        if (typeof ms === 'string') return bad(at, ms);
        if (key === 'wait') entry.waitMs = ms;
        else if (key === 'd3hot') entry.d3hotMs = ms;
        else if (key === 'd3hot_global') entry.d3hotGlobalMs = ms;
        else entry.d3coldMs = ms;
        break;
      }
      case 'assume':
        if (v !== 'flr') return bad(at, `expected assume=flr (the function does FLR although DevCap does not say so), found ${show(v)}`);
        entry.assumeFlr = true;
        break;
      case 'kernel':
        if (!/^[a-z_][a-z0-9_]*$/.test(v)) return bad(at, `expected kernel=<C function name of the kernel quirk>, found ${show(v)}`);
        entry.kernel = v;
        break;
      case 'reason':
        if (!t.raw.slice(t.raw.indexOf('=') + 1).startsWith('"')) return bad(at, 'expected reason="..." (a quoted string)');
        entry.reason = v;
        reasonSeen = true;
        lastWasReason = true;
        break;
    }
  }
  if (!reasonSeen || entry.reason.trim() === '') {
    return bad({ line: raw.line, column: first.column }, 'entry has no reason="..." (every entry must say why, and cite its source)');
  }
  const acts =
    entry.prefer !== null || entry.skip || entry.noDma || entry.noFlr || entry.noPm || entry.noBus || entry.waitMs !== null || entry.d3hotMs !== null ||
    entry.d3hotGlobalMs !== null || entry.d3coldMs !== null || entry.assumeFlr || entry.info;
  if (!acts) {
    return bad({ line: raw.line, column: first.column }, 'entry says nothing to do; expected an action: prefer=..., skip, no_dma, no_flr, no_pm, no_bus, wait=, d3hot=, d3hot_global=, d3cold=, assume=flr or info');
  }
  if (entry.prefer !== null && entry.prefer.length === 0) return bad({ line: raw.line, column: first.column }, 'prefer= needs at least one method');
  return entry;
}

function parseClass(v: string): { value: number; mask: number } | string {
  const m = /^(?:0x)?([0-9a-fA-F]+)(?:\/(?:0x)?([0-9a-fA-F]+))?$/.exec(v);
  const expected = 'expected class=CC, class=CCSS or class=CCSSPP (hex: base class, subclass, prog-if), optionally /MMMMMM (a 6-digit mask)';
  if (!m) return `${expected}, found ${show(v)}`;
  const digits = m[1]!;
  if (m[2] !== undefined) {
    if (digits.length !== 6 || m[2].length !== 6) return `with a mask both class and mask take 6 hex digits, found ${show(v)}`;
    const value = parseInt(digits, 16);
    const mask = parseInt(m[2], 16);
    if ((value & ~mask) !== 0) return `class ${digits} has bits outside mask ${m[2]}`;
    if (mask === 0) return 'a class mask of 000000 matches every class; leave class= out';
    return { value, mask };
  }
  if (digits.length === 2) return { value: parseInt(digits, 16) << 16, mask: 0xff0000 };
  if (digits.length === 4) return { value: parseInt(digits, 16) << 8, mask: 0xffff00 };
  if (digits.length === 6) return { value: parseInt(digits, 16), mask: 0xffffff };
  return `${expected}, found ${show(v)}`;
}

function parseDuration(v: string): number | string {
  const m = /^(\d{1,7})(ms|s)$/.exec(v);
  if (!m) return `expected a duration with its unit, e.g. 250ms or 1s, found ${show(v)}`;
  const ms = parseInt(m[1]!, 10) * (m[2] === 's' ? 1000 : 1);
  if (ms > MAX_DELAY_MS) return `${v} is more than ${MAX_DELAY_MS / 1000}s (the kdump run has a bounded time budget)`;
  return ms;
}

function show(s: string | null): string {
  const t = s ?? '';
  return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
}

/** The canonical text of a match, as `quirks list` and messages show it. */
export function formatMatch(m: QuirkMatch): string {
  const id = (n: number | null): string => (n === null ? '*' : n.toString(16).padStart(4, '0'));
  const dev = m.deviceLo === null ? '*' : m.deviceLo === m.deviceHi ? id(m.deviceLo) : `${id(m.deviceLo)}-${id(m.deviceHi)}`;
  const parts = [`${id(m.vendor)}:${dev}`];
  if (m.subsystemVendor !== null || m.subsystemDevice !== null) parts.push(`subsys=${id(m.subsystemVendor)}:${id(m.subsystemDevice)}`);
  if (m.classMask !== 0) {
    const v = m.classValue.toString(16).padStart(6, '0');
    if (m.classMask === 0xff0000) parts.push(`class=${v.slice(0, 2)}`);
    else if (m.classMask === 0xffff00) parts.push(`class=${v.slice(0, 4)}`);
    else if (m.classMask === 0xffffff) parts.push(`class=${v}`);
    else parts.push(`class=${v}/${m.classMask.toString(16).padStart(6, '0')}`);
  }
  if (m.revLo !== null) {
    const r = (n: number): string => n.toString(16).padStart(2, '0');
    parts.push(m.revLo === m.revHi ? `rev=${r(m.revLo)}` : `rev=${r(m.revLo)}-${r(m.revHi!)}`);
  }
  if (m.rootBus !== null) parts.push(`rootbus=${m.rootBus ? 'yes' : 'no'}`);
  return parts.join(' ');
}

/** The actions of an entry, in the canonical order `quirks list` shows them. */
export function formatActions(e: QuirkEntry): string {
  const parts: string[] = [];
  if (e.skip) parts.push('skip');
  if (e.noDma) parts.push('no_dma');
  if (e.prefer) parts.push(`prefer=${e.prefer.join(',')}`);
  if (e.noFlr) parts.push('no_flr');
  if (e.noPm) parts.push('no_pm');
  if (e.noBus) parts.push('no_bus');
  if (e.assumeFlr) parts.push('assume=flr');
  if (e.waitMs !== null) parts.push(`wait=${e.waitMs}ms`);
  if (e.d3hotMs !== null) parts.push(`d3hot=${e.d3hotMs}ms`);
  if (e.d3hotGlobalMs !== null) parts.push(`d3hot_global=${e.d3hotGlobalMs}ms`);
  if (e.d3coldMs !== null) parts.push(`d3cold=${e.d3coldMs}ms`);
  if (e.info) parts.push('info');
  if (e.kernel) parts.push(`kernel=${e.kernel}`);
  return parts.join(' ');
}
