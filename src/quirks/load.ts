import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessError } from '../access/access-error.js';
import type { Root } from '../access/root.js';
import { UserError } from '../errors/user-error.js';
import { DEFAULT_QUIRKS_LABEL } from './default-path.js';
import { DEFAULT_QUIRKS_TEXT } from './default-text.js';
import { lintTables, type LintSource } from './lint.js';
import { parseQuirks } from './parse.js';
import type { QuirkTable } from './quirk-types.js';

/** Where admins drop their tables, under the root; read in lexical order, after the default table. */
export const ADMIN_QUIRKS_DIR = 'etc/pci-reset-agent/quirks.d';

/**
 * Largest quirk table read. The kernel's whole reset-quirk list is about a hundred entries (the default
 * table is 30 KB); 8 MiB holds some 150,000 entries. Anything larger is refused unread: a capture
 * kernel has about 100 MB of memory in all.
 */
export const MAX_TABLE_BYTES = 8 * 1024 * 1024;
/**
 * Entries all admin tables together may have. The kernel's own quirk lists are a few thousand lines; a
 * parsed entry costs about 0.8 KB, and 150,000 valid entries (5 MB of text, under the byte cap) took a
 * kdump run to 185 MB peak RSS, over the 120 MB bound of the hostile-inputs bench (issue 11, item 14).
 * 20,000 cost about 16 MB.
 */
export const MAX_TABLE_ENTRIES = 20_000;

/**
 * Entries: lines that start one, i.e. not blank, not comments, not indented (an indented line continues
 * the entry above, parse.ts). Counted before parsing, which is what costs memory.
 */
export function countEntryLines(text: string): number {
  let n = 0;
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    // The parser's own tests (parseQuirks): trimmed blank, '#', or a leading space or tab.
    if (text[at] !== ' ' && text[at] !== '\t') {
      const trimmed = text.slice(at, end).trim();
      if (trimmed !== '' && trimmed[0] !== '#') n++;
    }
    at = end + 1;
  }
  return n;
}

function checkEntryCount(sources: TableSource[]): void {
  let total = 0;
  for (const s of sources) {
    total += s.entries ?? countEntryLines(s.text);
    if (total > MAX_TABLE_ENTRIES) {
      throw new TableRefused(`${s.label}: the admin tables reach ${total} entries here, over the ${MAX_TABLE_ENTRIES} they may have together; refused unparsed`);
    }
  }
}

export interface LoadQuirksOptions {
  /** `--quirks FILE` tables (host paths), read after the admin tables, in the order given. */
  files?: string[];
  /** In a kdump run a broken admin table never stops the agent: the default table is used and the problem returned. */
  kdump?: boolean;
}

export interface TableSource {
  label: string;
  text: string;
  /** Entry lines, when the reader counted them already (readTable does, to refuse a file by itself). */
  entries?: number;
  /** What was accepted only by exception (see checkTrust): shown as warnings. */
  notes?: string[];
}

/** The built-in default table, parsed. A syntax error here is a build defect (a test guards it). */
export function defaultTable(): QuirkTable {
  const { entries } = parseQuirks(DEFAULT_QUIRKS_TEXT, DEFAULT_QUIRKS_LABEL, 0);
  return { entries, sources: [{ label: DEFAULT_QUIRKS_LABEL, entries: entries.length }] };
}

/**
 * The quirk table in force: the default table, then `ROOT/etc/pci-reset-agent/quirks.d/*.quirks` in
 * lexical order, then `--quirks` files. Each table is checked by the validator `quirks lint` uses
 * (src/quirks/lint.ts): outside kdump its first error (trust, syntax, a contradiction) is thrown as a
 * UserError naming file, line and column. In kdump every admin table is dropped and the problems say so
 * loudly; the caller logs them. `warnings` are the exceptions taken (a table inside a mock root owned by
 * a user), for the caller to print.
 */
export function loadQuirks(root: Root, options: LoadQuirksOptions = {}): { table: QuirkTable; problems: string[]; warnings: string[] } {
  let sources: TableSource[];
  try {
    sources = [...adminSources(root), ...(options.files ?? []).map((f) => readHostTable(f, root))];
  } catch (err) {
    return failOrFallBack(err, defaultTable(), options);
  }
  return tableFromSources(sources, options);
}

/**
 * The default table, then `sources` in order, checked as loadQuirks() checks the admin tables (the same
 * fallback in kdump). `audit` uses it for the tables a kdump image carries.
 */
export function tableFromSources(sources: TableSource[], options: Pick<LoadQuirksOptions, 'kdump'> = {}): { table: QuirkTable; problems: string[]; warnings: string[] } {
  const base = defaultTable();
  if (sources.length === 0) return { table: base, problems: [], warnings: [] };
  try {
    checkEntryCount(sources);
  } catch (err) {
    return failOrFallBack(err, base, options);
  }
  const lintSources: LintSource[] = [{ label: DEFAULT_QUIRKS_LABEL, text: DEFAULT_QUIRKS_TEXT, report: false }, ...sources.map((s) => ({ ...s, report: true }))];
  let checked: ReturnType<typeof lintTables>;
  try {
    checked = lintTables(lintSources);
  } catch (err) {
    return failOrFallBack(err, base, options);
  }
  const error = checked.findings.find((f) => f.severity === 'error');
  if (error) return failOrFallBack(new TableRefused(`${error.file}:${error.line}:${error.column}: ${error.message}`), base, options);
  const table: QuirkTable = { entries: checked.all, sources: lintSources.map((s, i) => ({ label: s.label, entries: checked.counts[i]! })) };
  return { table, problems: [], warnings: sources.flatMap((s) => s.notes ?? []) };
}

function failOrFallBack(err: unknown, base: QuirkTable, options: LoadQuirksOptions): { table: QuirkTable; problems: string[]; warnings: string[] } {
  const known = err instanceof TableRefused || err instanceof AccessError;
  if (!options.kdump) {
    if (!known) throw err;
    throw new UserError(describe(err));
  }
  // In kdump even an unexpected failure falls back: the dump matters more than the admin's table.
  const message = known ? describe(err) : `unexpected error reading the admin tables: ${(err as Error)?.message ?? String(err)}`;
  return {
    table: base,
    problems: [
      `QUIRK TABLE REFUSED: ${message}`,
      `every admin quirk table is ignored for this run; using the built-in default table only (${base.entries.length} entries)`,
    ],
    warnings: [],
  };
}

function describe(err: TableRefused | AccessError): string {
  return err instanceof AccessError ? `quirk table ${err.message}` : err.message;
}

/** A table that must not be trusted (ownership, mode, size, not a file) or does not validate. */
export class TableRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableRefused';
  }
}

/** Names of the admin tables under the root, in lexical (byte) order. */
function adminNames(root: Root): string[] {
  return root
    .list(ADMIN_QUIRKS_DIR)
    .filter((n) => n.endsWith('.quirks') && !n.startsWith('.'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function readAdmin(root: Root, name: string): TableSource {
  const rel = `${ADMIN_QUIRKS_DIR}/${name}`;
  return { label: root.lexical(rel), ...readTable(root.resolve(rel), root.lexical(rel), mockRootOf(root)) };
}

/** Admin tables under the root, in lexical order; the first untrusted one is thrown. */
export function adminSources(root: Root): TableSource[] {
  const names = adminNames(root);
  if (names.length === 0) return [];
  const dirNotes = checkTrust(root.resolve(ADMIN_QUIRKS_DIR), root.lexical(ADMIN_QUIRKS_DIR), 'directory', mockRootOf(root));
  return names.map((name, i) => {
    const s = readAdmin(root, name);
    return i === 0 ? { ...s, notes: [...dirNotes, ...(s.notes ?? [])] } : s;
  });
}

/** The admin tables for `quirks lint`: each one linted, an untrusted one (or directory) as an error on it. */
export function adminLintSources(root: Root): LintSource[] {
  const names = adminNames(root);
  let dir: { refused?: string; notes: string[] } = { notes: [] };
  if (names.length) {
    try {
      dir.notes = checkTrust(root.resolve(ADMIN_QUIRKS_DIR), root.lexical(ADMIN_QUIRKS_DIR), 'directory', mockRootOf(root));
    } catch (err) {
      if (!(err instanceof TableRefused)) throw err;
      dir = { refused: err.message, notes: [] };
    }
  }
  return names.map((name, i) => {
    const s = lintSource(() => readAdmin(root, name), root.lexical(`${ADMIN_QUIRKS_DIR}/${name}`));
    if (i > 0) return s;
    return { ...s, refused: dir.refused ?? s.refused, notes: [...dir.notes, ...(s.notes ?? [])] };
  });
}

/** A `--quirks FILE` table, named by the user on the host: the same rules as a table under the root. */
export function readHostTable(file: string, root: Root): TableSource {
  const mock = mockRootOf(root);
  // The mock-root exception covers a file only when it really lies inside the mock root.
  const inside = mock !== null && isInside(file, mock);
  return { label: file, ...readTable(file, file, inside ? mock : null) };
}

/** The mock root's directory, or null for the host's own root (no exception there). */
function mockRootOf(root: Root): string | null {
  return root.isHostRoot ? null : root.resolve('');
}

function isInside(file: string, dir: string): boolean {
  try {
    const real = fs.realpathSync(file);
    const base = fs.realpathSync(dir);
    return real.startsWith(base.endsWith(path.sep) ? base : `${base}${path.sep}`);
  } catch {
    return false;
  }
}

/**
 * Read one table: trusted (checkTrust), a regular file, at most MAX_TABLE_BYTES (checked on the open
 * descriptor before reading, so a huge or growing file costs nothing), never through a final symlink,
 * never blocking on a FIFO.
 */
function readTable(host: string, label: string, mockRoot: string | null): { text: string; notes: string[]; entries: number } {
  let fd: number;
  try {
    fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new TableRefused(`${label}: a symbolic link; refused (name the table itself)`);
    throw AccessError.from(err, label);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new TableRefused(`${label}: not a regular file; refused`);
    const notes = trustOf(st, label, 'table', mockRoot);
    if (st.size > MAX_TABLE_BYTES) {
      throw new TableRefused(`${label}: ${st.size} bytes, over the ${MAX_TABLE_BYTES / 1024 / 1024} MiB a quirk table may have; refused unread`);
    }
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    const text = buf.subarray(0, got).toString('utf8');
    const entries = countEntryLines(text);
    checkEntryCount([{ label, text, entries }]);
    return { text, notes, entries };
  } catch (err) {
    if (err instanceof TableRefused) throw err;
    throw AccessError.from(err, label);
  } finally {
    fs.closeSync(fd);
  }
}

/** checkTrust of a path (the quirks.d directory). */
function checkTrust(host: string, label: string, what: 'table' | 'directory', mockRoot: string | null): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(host);
  } catch (err) {
    throw AccessError.from(err, label);
  }
  return trustOf(st, label, what, mockRoot);
}

/**
 * sshd StrictModes, for the same reason: a table decides which devices get reset, so one that anybody
 * but root can change is refused rather than trusted. The same rule whatever `--root` says, with one
 * exception: inside a mock root (a tree a user built or captured) a table or directory owned by that
 * user is accepted, with a warning that says so. Group- or world-writable is refused everywhere.
 */
function trustOf(st: fs.Stats, label: string, what: 'table' | 'directory', mockRoot: string | null): string[] {
  const writable = st.mode & 0o022;
  if (writable) {
    const who = writable === 0o022 ? 'group- and world-writable' : writable & 0o020 ? 'group-writable' : 'world-writable';
    throw new TableRefused(`${label}: ${what} is ${who} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); refused (chmod go-w)`);
  }
  if (st.uid !== 0) {
    if (mockRoot !== null) return [`${label}: ${what} is owned by uid ${st.uid}, not root: accepted only because it is inside the mock root ${mockRoot} (anywhere else it is refused)`];
    throw new TableRefused(`${label}: ${what} is owned by uid ${st.uid}, not root; refused (a quirk table decides which devices get reset: chown root)`);
  }
  return [];
}

/** Read a table for `quirks lint`: a table that would be refused is linted anyway, its refusal an error. */
export function lintSource(read: () => TableSource, label: string): LintSource {
  try {
    return { ...read(), report: true };
  } catch (err) {
    if (err instanceof TableRefused) return { label, text: '', report: true, refused: err.message };
    throw err;
  }
}
