import * as fs from 'node:fs';
import { AccessError } from '../access/access-error.js';
import type { Root } from '../access/root.js';
import { CliError } from '../cli/fail.js';
import { DEFAULT_QUIRKS_LABEL } from './default-path.js';
import { DEFAULT_QUIRKS_TEXT } from './default-text.js';
import { parseQuirks, QuirkSyntaxError } from './parse.js';
import type { QuirkEntry, QuirkTable } from './quirk-types.js';

/** Where admins drop their tables, under the root; read in lexical order, after the default table. */
export const ADMIN_QUIRKS_DIR = 'etc/pci-reset-agent/quirks.d';

export interface LoadQuirksOptions {
  /** `--quirks FILE` tables (host paths), read after the admin tables, in the order given. */
  files?: string[];
  /** In a kdump run a broken admin table never stops the agent: the default table is used and the problem returned. */
  kdump?: boolean;
  /** Refuse tables not owned by root or writable by group/others. Default: only on the host's own root. */
  strictModes?: boolean;
}

export interface TableSource {
  label: string;
  text: string;
}

/** The built-in default table, parsed. A syntax error here is a build defect (a test guards it). */
export function defaultTable(): QuirkTable {
  const { entries } = parseQuirks(DEFAULT_QUIRKS_TEXT, DEFAULT_QUIRKS_LABEL, 0);
  return { entries, sources: [{ label: DEFAULT_QUIRKS_LABEL, entries: entries.length }] };
}

/**
 * The quirk table in force: the default table, then `ROOT/etc/pci-reset-agent/quirks.d/*.quirks` in
 * lexical order, then `--quirks` files. Outside kdump the first problem (syntax, permissions, unreadable
 * file) is thrown as a CliError naming file, line and column. In kdump every admin table is dropped and
 * the problems say so loudly; the caller logs them.
 */
export function loadQuirks(root: Root, options: LoadQuirksOptions = {}): { table: QuirkTable; problems: string[] } {
  const base = defaultTable();
  const strict = options.strictModes ?? root.isHostRoot;
  let sources: TableSource[];
  try {
    sources = [...adminSources(root, strict), ...(options.files ?? []).map((f) => readHostTable(f, strict))];
  } catch (err) {
    return failOrFallBack(err, base, options);
  }
  const entries: QuirkEntry[] = [...base.entries];
  const loaded = [...base.sources];
  try {
    sources.forEach((s, i) => {
      const { entries: more } = parseQuirks(s.text, s.label, i + 1);
      entries.push(...more);
      loaded.push({ label: s.label, entries: more.length });
    });
  } catch (err) {
    return failOrFallBack(err, base, options);
  }
  return { table: { entries, sources: loaded }, problems: [] };
}

function failOrFallBack(err: unknown, base: QuirkTable, options: LoadQuirksOptions): { table: QuirkTable; problems: string[] } {
  const known = err instanceof QuirkSyntaxError || err instanceof TableRefused || err instanceof AccessError;
  if (!options.kdump) {
    if (!known) throw err;
    throw new CliError(describe(err));
  }
  // In kdump even an unexpected failure falls back: the dump matters more than the admin's table.
  const message = known ? describe(err) : `unexpected error reading the admin tables: ${(err as Error)?.message ?? String(err)}`;
  return {
    table: base,
    problems: [
      `QUIRK TABLE REFUSED: ${message}`,
      `every admin quirk table is ignored for this run; using the built-in default table only (${base.entries.length} entries)`,
    ],
  };
}

function describe(err: QuirkSyntaxError | TableRefused | AccessError): string {
  return err instanceof AccessError ? `quirk table ${err.message}` : err.message;
}

/** A table that must not be trusted (ownership, mode, not a file). */
export class TableRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableRefused';
  }
}

/** Admin tables under the root, in lexical (byte) order of their names. */
export function adminSources(root: Root, strict: boolean): TableSource[] {
  const names = root
    .list(ADMIN_QUIRKS_DIR)
    .filter((n) => n.endsWith('.quirks') && !n.startsWith('.'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) return [];
  if (strict) checkModes(root.resolve(ADMIN_QUIRKS_DIR), root.lexical(ADMIN_QUIRKS_DIR), 'directory');
  return names.map((name) => {
    const rel = `${ADMIN_QUIRKS_DIR}/${name}`;
    const label = root.lexical(rel);
    const host = root.resolve(rel);
    const st = statOrThrow(host, label);
    if (!st.isFile()) throw new TableRefused(`${label}: not a regular file; refused`);
    if (strict) checkModes(host, label, 'table');
    return { label, text: root.readFile(rel).toString('utf8') };
  });
}

/** A `--quirks FILE` table, named by the user on the host. */
export function readHostTable(file: string, strict: boolean): TableSource {
  const st = statOrThrow(file, file);
  if (!st.isFile()) throw new TableRefused(`${file}: not a regular file; refused`);
  if (strict) checkModes(file, file, 'table');
  try {
    return { label: file, text: fs.readFileSync(file, 'utf8') };
  } catch (err) {
    throw AccessError.from(err, file);
  }
}

function statOrThrow(host: string, label: string): fs.Stats {
  try {
    return fs.statSync(host);
  } catch (err) {
    throw AccessError.from(err, label);
  }
}

/**
 * sshd StrictModes, for the same reason: a table decides which devices get reset, so one that anybody
 * but root can change is refused rather than trusted.
 */
export function checkModes(host: string, label: string, what: 'table' | 'directory'): void {
  const st = statOrThrow(host, label);
  if (st.uid !== 0) {
    throw new TableRefused(`${label}: ${what} is owned by uid ${st.uid}, not root; refused (a quirk table decides which devices get reset: chown root)`);
  }
  const writable = st.mode & 0o022;
  if (writable) {
    const who = writable === 0o022 ? 'group- and world-writable' : writable & 0o020 ? 'group-writable' : 'world-writable';
    throw new TableRefused(`${label}: ${what} is ${who} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); refused (chmod go-w)`);
  }
}
