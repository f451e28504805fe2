import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBuilt } from '../helpers/run-built.js';
import { tmpDir } from '../helpers/tmp-root.js';

/**
 * `quirks lint` and loading share one validator (src/quirks/lint.ts): whatever lint fails, `plan --quirks`
 * refuses, and whatever `plan` accepts, lint passes (issue 15.14). Run on the built CLI.
 */
function table(text: string, mode = 0o644): string {
  const f = path.join(tmpDir(), 'site.quirks');
  fs.writeFileSync(f, text);
  fs.chmodSync(f, mode);
  return f;
}

function both(file: string): { lint: number; plan: number; planErr: string; lintOut: string } {
  const lint = runBuilt(['quirks', 'lint', file]);
  const plan = runBuilt(['plan', '--root', 'examples/server', '--quirks', file]);
  return { lint: lint.code, plan: plan.code, planErr: plan.stderr, lintOut: lint.stdout };
}

describe('quirks lint agrees with loading', () => {
  it('a world-writable table: lint fails it, plan refuses it', () => {
    const r = both(table('1234:0001 no_pm reason="a"\n', 0o666));
    expect(r.lint).toBe(1);
    expect(r.lintOut).toContain('site.quirks:1:1: error: ');
    expect(r.lintOut).toContain('table is group- and world-writable (mode 0666); refused');
    expect(r.plan).toBe(1);
    expect(r.planErr).toContain('table is group- and world-writable (mode 0666); refused');
  });

  it('an entry that prefers what it forbids: lint fails it, plan refuses it naming file, line and column', () => {
    const f = table('8086:1572 prefer=flr no_flr reason="contradiction"\n');
    const r = both(f);
    expect(r.lint).toBe(1);
    expect(r.lintOut).toContain(`${f}:1:1: error: prefers flr and forbids it (no_flr) in the same entry`);
    expect(r.plan).toBe(1);
    expect(r.planErr).toBe(`pci-reset-agent: ${f}:1:1: prefers flr and forbids it (no_flr) in the same entry\n`);
  });

  it('a clean table: lint passes, plan uses it; warnings do not stop either', () => {
    const f = table('8086:1572 no_pm reason="a"\n8086:1572 no_pm reason="a"\n');
    const r = both(f);
    expect(r.lint).toBe(0);
    expect(r.lintOut).toContain('warning: duplicate of');
    expect(r.plan).toBe(0);
  });

  it('lint --json: every finding with file, line, column, severity', () => {
    const f = table('8086:1572 prefer=flr no_flr reason="x"\n1234:zzzz no_pm reason="y"\n');
    const r = runBuilt(['quirks', 'lint', f, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ tables: 1, errors: 2, warnings: 0 });
    expect(doc.findings.map((x: { line: number; column: number; severity: string }) => [x.line, x.column, x.severity])).toEqual([[1, 1, 'error'], [2, 6, 'error']]);
  });
});
