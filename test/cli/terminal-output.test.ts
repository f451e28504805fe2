import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors/exit-codes.js';
import { builtCli } from '../helpers/run-built.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { smallTree } from '../apply/trees.js';

/** util-linux script(1) gives the command a real terminal; the apply tests elsewhere force --log-format. */
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const shellQuote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

const PROJECT = new URL('../..', import.meta.url).pathname;
function onTerminal(args: string[]): { status: number | null; lines: string[] } {
  const cmd = [process.execPath, builtCli(), ...args].map(shellQuote).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: PROJECT, encoding: 'utf8', env: { ...process.env, COLUMNS: '80', TERM: 'dumb' } });
  // script(1) returns the child's status (-e) and copies the terminal's output, with CR LF line ends.
  return { status: r.status, lines: r.stdout.replace(/\r/g, '').split('\n').filter((l) => l !== '') };
}

describe.skipIf(!hasScript)('apply on a real terminal (script(1) gives it a pty)', () => {
  it('a live machine, no --log-format: text events within 80 columns, the refusal printed once, status 5', () => {
    const { status, lines } = onTerminal(['apply', '--root', 'examples/server', '--no-registers']);
    expect(status).toBe(EXIT.APPLY_REFUSED_LIVE);
    expect(lines[0]).toMatch(/^\[ +\d+\.\d{3}\] apply: \d+ step\(s\) planned/);
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(lines.filter((l) => /no capture-kernel evidence/.test(l))).toHaveLength(1);
  });

  it('a capture kernel: one text line per event, then the summary, all within 80 columns, status 0', () => {
    const dir = smallTree().write(tmpDir('pra-tty-'));
    const { status, lines } = onTerminal(['apply', '--root', dir, '--no-registers']);
    expect(status).toBe(EXIT.OK);
    expect(lines.filter((l) => /^\[ +\d+\.\d{3}\] step \d+ ok$/.test(l)).length).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(lines.some((l) => /^\d+ ok, 0 failed, 0 abandoned, 0 skipped; /.test(l))).toBe(true);
  });
});
