import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { UserError } from '../../src/errors/user-error.js';
import { ADMIN_QUIRKS_DIR, defaultTable, loadQuirks, MAX_TABLE_BYTES, MAX_TABLE_ENTRIES } from '../../src/quirks/load.js';
import { cleanup, tempDir } from '../plan/helpers.js';

afterAll(cleanup);

function rootWith(files: Record<string, string>, mode = 0o644): { dir: string; root: Root } {
  const dir = tempDir('pra-quirks-');
  const qd = path.join(dir, ADMIN_QUIRKS_DIR);
  fs.mkdirSync(qd, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    fs.writeFileSync(path.join(qd, name), text);
    fs.chmodSync(path.join(qd, name), mode);
  }
  return { dir, root: new Root(dir) };
}

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('did not throw');
};

describe('loading the tables', () => {
  it('default, then quirks.d/*.quirks in lexical order, then --quirks files; other names are ignored', () => {
    const { dir, root } = rootWith({
      '20-b.quirks': '1234:0002 no_pm reason="b"\n',
      '10-a.quirks': '1234:0001 no_pm reason="a"\n',
      'README': 'not a table',
      '.hidden.quirks': 'garbage',
      '30-c.quirks.bak': 'garbage',
    });
    const extra = path.join(dir, 'extra.quirks');
    fs.writeFileSync(extra, '1234:0003 no_pm reason="c"\n');
    const { table, problems } = loadQuirks(root, { files: [extra] });
    expect(problems).toEqual([]);
    const labels = table.sources.map((s) => path.basename(s.label));
    expect(labels).toEqual(['default.quirks', '10-a.quirks', '20-b.quirks', 'extra.quirks']);
    const mine = table.entries.filter((e) => e.match.vendor === 0x1234);
    expect(mine.map((e) => [e.match.deviceLo, e.fileIndex])).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(table.entries.length).toBe(defaultTable().entries.length + 3);
  });

  it('no admin directory: the default table alone', () => {
    const dir = tempDir('pra-quirks-');
    const { table } = loadQuirks(new Root(dir), {});
    expect(table.sources.map((s) => s.label)).toEqual(['default.quirks']);
  });

  it('a bad line is an error naming file, line and column and what was expected', () => {
    const { dir, root } = rootWith({ '10-a.quirks': '# ok\n1234:0001 no_pm reason="a"\n1234:0002 prefer=flr,reboot reason="b"\n' });
    const msg = message(() => loadQuirks(root, {}));
    expect(msg).toBe(`${path.join(fs.realpathSync(dir), ADMIN_QUIRKS_DIR, '10-a.quirks')}:3:22: unknown method "reboot"; expected one of flr, af_flr, pm, bus, kernel, kernel:<device_specific|acpi|flr|af_flr|pm|bus|cxl_bus>, vfio, skip`);
  });

  it('in a kdump run a broken admin table falls back to the default table, loudly', () => {
    const { root } = rootWith({ '10-a.quirks': '1234:0001 no_pm reason="a"\n', '20-b.quirks': '1234:zzzz no_pm reason="b"\n' });
    const { table, problems } = loadQuirks(root, { kdump: true });
    expect(table.sources.map((s) => s.label)).toEqual(['default.quirks']);
    expect(problems[0]).toMatch(/^QUIRK TABLE REFUSED: .*20-b\.quirks:1:6: expected a device ID/);
    expect(problems[1]).toContain('using the built-in default table only');
  });

  it('a missing --quirks file is an error, or in kdump a fallback', () => {
    const dir = tempDir('pra-quirks-');
    const root = new Root(dir);
    expect(message(() => loadQuirks(root, { files: [path.join(dir, 'nope.quirks')] }))).toContain('nope.quirks: no such file or directory (ENOENT)');
    expect(loadQuirks(root, { files: [path.join(dir, 'nope.quirks')], kdump: true }).problems[0]).toContain('ENOENT');
  });

  it('StrictModes, whatever the root: group- or world-writable tables and directories are refused (issue 11.12)', () => {
    const { root, dir } = rootWith({ '10-a.quirks': '1234:0001 no_pm reason="a"\n' }, 0o666);
    // A mock root is no exception for the mode: anybody could rewrite what decides the resets.
    expect(message(() => loadQuirks(root, {}))).toMatch(/10-a\.quirks: table is group- and world-writable \(mode 0666\); refused/);
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-a.quirks'), 0o644);
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR), 0o777);
    expect(message(() => loadQuirks(root, {}))).toMatch(/quirks\.d: directory is group- and world-writable \(mode 0777\); refused/);
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR), 0o775);
    expect(message(() => loadQuirks(root, {}))).toMatch(/quirks\.d: directory is group-writable \(mode 0775\); refused/);
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR), 0o755);
    expect(() => loadQuirks(root, {})).not.toThrow();
    // A --quirks file outside the root: the same rule.
    const extra = path.join(tempDir('pra-quirks-'), 'extra.quirks');
    fs.writeFileSync(extra, '1234:0003 no_pm reason="c"\n');
    fs.chmodSync(extra, 0o666);
    expect(message(() => loadQuirks(root, { files: [extra] }))).toMatch(/extra\.quirks: table is group- and world-writable \(mode 0666\); refused/);
    // In kdump a refused table is dropped, not fatal.
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-a.quirks'), 0o646);
    expect(loadQuirks(root, { kdump: true }).problems[0]).toMatch(/^QUIRK TABLE REFUSED: .*10-a\.quirks: table is world-writable \(mode 0646\); refused/);
  });

  it('something that is not a regular file is refused', () => {
    const { root, dir } = rootWith({});
    fs.mkdirSync(path.join(dir, ADMIN_QUIRKS_DIR, 'sub.quirks'));
    expect(message(() => loadQuirks(root, {}))).toContain('sub.quirks: not a regular file; refused');
  });

  it.skipIf(process.getuid?.() !== 0)('ownership: a user\'s table inside a mock root is accepted with a warning saying why; outside it, refused', () => {
    const { root, dir } = rootWith({ '10-a.quirks': '1234:0001 no_pm reason="a"\n' });
    const table = path.join(dir, ADMIN_QUIRKS_DIR, '10-a.quirks');
    fs.chownSync(table, 65534, 0);
    const inside = loadQuirks(root, {});
    expect(inside.table.entries.some((e) => e.match.vendor === 0x1234)).toBe(true);
    expect(inside.warnings).toEqual([`${root.lexical(`${ADMIN_QUIRKS_DIR}/10-a.quirks`)}: table is owned by uid 65534, not root: accepted only because it is inside the mock root ${root.resolve('')} (anywhere else it is refused)`]);
    // A --quirks file inside the mock root: the exception; outside it: refused, naming the owner.
    const within = path.join(dir, 'within.quirks');
    fs.writeFileSync(within, '1234:0002 no_pm reason="b"\n');
    fs.chownSync(within, 65534, 65534);
    expect(loadQuirks(root, { files: [within] }).warnings.at(-1)).toMatch(/within\.quirks: table is owned by uid 65534, not root: accepted only because it is inside the mock root/);
    const extra = path.join(tempDir('pra-quirks-'), 'extra.quirks');
    fs.writeFileSync(extra, '1234:0003 no_pm reason="c"\n');
    fs.chownSync(extra, 65534, 65534);
    expect(message(() => loadQuirks(root, { files: [extra] }))).toMatch(/extra\.quirks: table is owned by uid 65534, not root; refused \(a quirk table decides which devices get reset: chown root\)/);
    const fallback = loadQuirks(root, { files: [extra], kdump: true });
    expect(fallback.problems[0]).toMatch(/^QUIRK TABLE REFUSED: .*owned by uid 65534/);
    expect(fallback.table.sources.map((x) => x.label)).toEqual(['default.quirks']);
  });

  it('a table over the size cap is refused unread, naming the file; in kdump the built-in table is used, loudly (issue 11.6)', () => {
    const { root, dir } = rootWith({});
    const big = path.join(dir, ADMIN_QUIRKS_DIR, '10-big.quirks');
    // Sparse: a 1 GB table costs nothing to make, and must cost nothing to refuse.
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 1024 * 1024 * 1024);
    const t0 = performance.now();
    expect(message(() => loadQuirks(root, {}))).toMatch(/10-big\.quirks: 1073741824 bytes, over the 8 MiB a quirk table may have; refused unread/);
    const k = loadQuirks(root, { kdump: true });
    expect(k.problems[0]).toMatch(/^QUIRK TABLE REFUSED: .*10-big\.quirks: 1073741824 bytes/);
    expect(k.problems[1]).toContain('using the built-in default table only');
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(MAX_TABLE_BYTES).toBe(8 * 1024 * 1024);
  });

  it('a valid table of 20,000 entries loads (no call-stack overflow); 150,000 are refused by count, naming the file, unparsed; a 33 MB line is refused by size (issue 11.14)', () => {
    const { root, dir } = rootWith({});
    const table = (n: number): string => {
      const lines: string[] = ['# many entries', ''];
      for (let i = 0; i < n; i++) lines.push(`${(0x1000 + Math.floor(i / 0x10000)).toString(16)}:${(i % 0x10000).toString(16).padStart(4, '0')} no_pm reason="r"`);
      return `${lines.join('\n')}\n`;
    };
    fs.writeFileSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-many.quirks'), table(MAX_TABLE_ENTRIES));
    expect(loadQuirks(root, {}).table.entries.length).toBe(defaultTable().entries.length + MAX_TABLE_ENTRIES);
    fs.writeFileSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-many.quirks'), table(150_000));
    expect(message(() => loadQuirks(root, {}))).toMatch(/10-many\.quirks: the admin tables reach 150000 entries here, over the 20000 they may have together; refused unparsed/);
    // In kdump: the built-in table, loudly.
    const k = loadQuirks(root, { kdump: true });
    expect(k.table.entries.length).toBe(defaultTable().entries.length);
    expect(k.problems[0]).toMatch(/QUIRK TABLE REFUSED: .*150000 entries/);
    // Entries, not lines: a reason continued on an indented line is one entry (old code counted 40,000 here).
    const continued = (n: number): string => table(n).replace(/ reason="r"\n/g, '\n    reason="r"\n');
    expect(continued(2).split('\n').filter((l) => l.startsWith('    reason=')).length).toBe(2);
    fs.writeFileSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-many.quirks'), continued(MAX_TABLE_ENTRIES));
    expect(loadQuirks(root, {}).table.entries.length).toBe(defaultTable().entries.length + MAX_TABLE_ENTRIES);
    // Two tables under the cap each, over it together.
    fs.writeFileSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-many.quirks'), table(15_000));
    fs.writeFileSync(path.join(dir, ADMIN_QUIRKS_DIR, '11-more.quirks'), table(15_000));
    expect(message(() => loadQuirks(root, {}))).toMatch(/11-more\.quirks: the admin tables reach 30000 entries/);
    fs.rmSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-many.quirks'));
    fs.rmSync(path.join(dir, ADMIN_QUIRKS_DIR, '11-more.quirks'));
    fs.writeFileSync(path.join(dir, ADMIN_QUIRKS_DIR, '20-line.quirks'), `1234:0001 reason="${'x'.repeat(33 * 1024 * 1024)}"\n`);
    expect(message(() => loadQuirks(root, {}))).toMatch(/20-line\.quirks: 3460\d+ bytes, over the 8 MiB a quirk table may have; refused unread/);
  });
});
