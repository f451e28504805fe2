import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { UserError } from '../../src/errors/user-error.js';
import { DEFAULT_QUIRKS_LABEL } from '../../src/quirks/default-path.js';
import { DEFAULT_QUIRKS_TEXT } from '../../src/quirks/default-text.js';
import { lintTables } from '../../src/quirks/lint.js';
import { ADMIN_QUIRKS_DIR, adminLintSources, loadQuirks } from '../../src/quirks/load.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { bounded, exhaustive, Prng, report, seed } from './prng.js';

/**
 * Quirk table files with every byte position mutated, through the path a real table takes: a file in
 * ROOT/etc/pci-reset-agent/quirks.d, read by the loader (as `plan` reads it, and as a kdump run does, which
 * falls back to the default table) and by the linter (as `quirks lint` runs it, the default table as
 * context). The table is the default table itself: in quick mode its first QUICK_BYTES (cut at an entry
 * boundary), every position; with FUZZ_SCALE > 1 the whole table, every position.
 *
 * Invariants: no exception but the loader's one named error; that error and every lint finding point at
 * a line and column inside the file; where loading stops, lint reports an error at the same place; each
 * input bounded; a kdump load never throws and falls back to the default table, naming the same place.
 */

const QUICK_BYTES = 2560;

/** The default table cut at the last entry that starts before `max` bytes (a line not indented, not a continuation). */
function prefix(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.lastIndexOf('\n', max);
  while (cut > 0 && /^[ \t]/.test(text.slice(cut + 1, cut + 2))) cut = text.lastIndexOf('\n', cut - 1);
  return text.slice(0, cut + 1);
}

/** Bytes a mutation writes: structure characters, digits, letters, control bytes, invalid UTF-8. */
const INTERESTING = [...' \t\n\r:=,-*#"\\/0123456789abcdefxyz_sklpmfrbuA'].map((c) => c.charCodeAt(0)).concat([0x00, 0x7f, 0x80, 0xc3, 0xff]);

/** The table with the byte at `at` replaced, deleted, or preceded by another one. */
function mutate(rng: Prng, base: Buffer, at: number): { bytes: Buffer; what: string } {
  const b = rng.next() < 0.5 ? rng.pick(INTERESTING) : rng.int(256);
  const kind = rng.int(4);
  if (kind === 0) return { bytes: Buffer.concat([base.subarray(0, at), base.subarray(at + 1)]), what: `delete byte ${at}` };
  if (kind === 1) return { bytes: Buffer.concat([base.subarray(0, at), Buffer.from([b]), base.subarray(at)]), what: `insert 0x${b.toString(16)} at ${at}` };
  const bytes = Buffer.from(base);
  bytes[at] = b;
  return { bytes, what: `byte ${at} := 0x${b.toString(16)}` };
}

const PLACE = /^(.*):(\d+):(\d+): (.+)$/;

class FuzzFailure extends Error {}

/** A cheap assertion for the hot loop (thousands of inputs): throws naming the input. */
function check(ok: boolean, what: string, detail: string): void {
  if (!ok) throw new FuzzFailure(`${what}: ${detail}`);
}

describe('fuzz: quirk table files, every byte position mutated, through load and lint', () => {
  it('the named file:line:col error or a table; lint agrees; kdump falls back', { timeout: 3_600_000 }, () => {
    const text = exhaustive() ? DEFAULT_QUIRKS_TEXT : prefix(DEFAULT_QUIRKS_TEXT, QUICK_BYTES);
    const base = Buffer.from(text, 'utf8');
    const dir = tmpDir('pra-quirkfuzz-');
    fs.mkdirSync(path.join(dir, ADMIN_QUIRKS_DIR), { recursive: true });
    const root = new Root(dir);
    const file = path.join(ADMIN_QUIRKS_DIR, '50-fuzz.quirks');
    const label = root.lexical(file);
    // The unmutated table loads: what a mutation breaks is the mutation's doing.
    fs.writeFileSync(path.join(dir, file), base);
    expect(loadQuirks(root, {}).problems).toEqual([]);

    const rng = new Prng(seed() + 41);
    const start = performance.now();
    let refused = 0;
    for (let at = 0; at < base.length; at++) {
      const { bytes, what } = mutate(rng, base, at);
      fs.writeFileSync(path.join(dir, file), bytes);
      const lines = bytes.toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
      const inside = (line: number, column: number): boolean =>
        line >= 1 && line <= lines.length && column >= 1 && column <= lines[line - 1]!.length + 1;

      let stoppedAt: { line: number; column: number } | null = null;
      bounded(what, () => {
        try {
          const { table, problems } = loadQuirks(root, {});
          check(problems.length === 0, what, `problems ${problems.join('; ')}`);
          const mine = table.entries.filter((e) => e.file === label);
          const last = table.sources.at(-1);
          check(last?.label === label && last.entries === mine.length, what, `sources ${JSON.stringify(table.sources.slice(-1))}`);
          for (const e of mine) check(e.line >= 1 && e.line <= lines.length && e.reason.length > 0, what, `entry at ${e.line}`);
        } catch (err) {
          if (err instanceof FuzzFailure) throw err;
          if (!(err instanceof UserError)) throw new FuzzFailure(`${what}: ${String(err)} is not the loader's named error`);
          const m = PLACE.exec(err.message);
          check(m !== null && m[1] === label, what, `error does not name the file: ${err.message}`);
          stoppedAt = { line: Number(m![2]), column: Number(m![3]) };
          check(inside(stoppedAt.line, stoppedAt.column), what, `error outside the file: ${err.message}`);
          refused++;
        }
      });

      // `quirks lint`: the default table as context, the admin table reported; every finding inside the file.
      const { findings } = bounded(`${what} (lint)`, () =>
        lintTables([{ label: DEFAULT_QUIRKS_LABEL, text: DEFAULT_QUIRKS_TEXT, report: false }, ...adminLintSources(root)]),
      );
      for (const f of findings) check(f.file === label && inside(f.line, f.column), what, `finding ${f.file}:${f.line}:${f.column} ${f.message}`);
      const stop = stoppedAt as { line: number; column: number } | null;
      if (stop) check(findings.some((f) => f.severity === 'error' && f.line === stop.line && f.column === stop.column), what, `lint has no error at ${stop.line}:${stop.column}`);

      // A kdump run: never a throw, the built-in table, the problem named.
      if (at % 8 === 0) {
        const k = loadQuirks(root, { kdump: true });
        if (stop) {
          check((k.problems[0] ?? '').includes(`QUIRK TABLE REFUSED: ${label}:${stop.line}:${stop.column}: `), what, `kdump problems ${k.problems.join('; ')}`);
          check(k.table.sources.length === 1 && k.table.sources[0]!.label === DEFAULT_QUIRKS_LABEL, what, 'kdump did not fall back to the default table');
        } else check(k.problems.length === 0, what, `kdump problems ${k.problems.join('; ')}`);
      }
    }
    report('quirk table files (every byte position)', base.length, performance.now() - start);
    // Edits inside comments and reasons are harmless, the rest mostly break the strict format.
    expect(refused).toBeGreaterThan(base.length / 20);
    expect(refused).toBeLessThan(base.length);
  });
});
