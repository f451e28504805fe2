import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { CliError } from '../../src/cli/fail.js';
import { ADMIN_QUIRKS_DIR, defaultTable, loadQuirks } from '../../src/quirks/load.js';
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
    expect(err).toBeInstanceOf(CliError);
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

  it('StrictModes: group- or world-writable tables and directories are refused on a real root', () => {
    const { root, dir } = rootWith({ '10-a.quirks': '1234:0001 no_pm reason="a"\n' }, 0o666);
    expect(() => loadQuirks(root, {})).not.toThrow(); // a mock root: not enforced
    const msg = message(() => loadQuirks(root, { strictModes: true }));
    if (process.getuid?.() === 0) expect(msg).toMatch(/10-a\.quirks: table is group- and world-writable \(mode 0666\); refused/);
    else expect(msg).toMatch(/is owned by uid \d+, not root; refused/);
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-a.quirks'), 0o644);
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR), 0o775);
    const dirMsg = message(() => loadQuirks(root, { strictModes: true }));
    if (process.getuid?.() === 0) expect(dirMsg).toMatch(/quirks\.d: directory is group-writable \(mode 0775\); refused/);
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR), 0o755);
    if (process.getuid?.() === 0) expect(() => loadQuirks(root, { strictModes: true })).not.toThrow();
    // In kdump a refused table is dropped, not fatal.
    fs.chmodSync(path.join(dir, ADMIN_QUIRKS_DIR, '10-a.quirks'), 0o646);
    expect(loadQuirks(root, { strictModes: true, kdump: true }).problems[0]).toContain('refused');
  });

  it('something that is not a regular file is refused', () => {
    const { root, dir } = rootWith({});
    fs.mkdirSync(path.join(dir, ADMIN_QUIRKS_DIR, 'sub.quirks'));
    expect(message(() => loadQuirks(root, {}))).toContain('sub.quirks: not a regular file; refused');
  });

  it.skipIf(process.getuid?.() !== 0)('StrictModes: a table or directory owned by another user (uid 65534) is refused, naming the owner', () => {
    const { root, dir } = rootWith({ '10-a.quirks': '1234:0001 no_pm reason="a"\n' });
    const table = path.join(dir, ADMIN_QUIRKS_DIR, '10-a.quirks');
    fs.chownSync(table, 65534, 0);
    expect(message(() => loadQuirks(root, { strictModes: true }))).toMatch(/10-a\.quirks: table is owned by uid 65534, not root; refused \(a quirk table decides which devices get reset: chown root\)/);
    fs.chownSync(table, 0, 0);
    fs.chownSync(path.join(dir, ADMIN_QUIRKS_DIR), 65534, 65534);
    expect(message(() => loadQuirks(root, { strictModes: true }))).toMatch(/quirks\.d: directory is owned by uid 65534, not root; refused/);
    // A --quirks file too; and in kdump the refusal drops the admin tables instead of stopping the run.
    fs.chownSync(path.join(dir, ADMIN_QUIRKS_DIR), 0, 0);
    const extra = path.join(dir, 'extra.quirks');
    fs.writeFileSync(extra, '1234:0003 no_pm reason="c"\n');
    fs.chownSync(extra, 65534, 65534);
    expect(message(() => loadQuirks(root, { strictModes: true, files: [extra] }))).toMatch(/extra\.quirks: table is owned by uid 65534, not root; refused/);
    const fallback = loadQuirks(root, { strictModes: true, files: [extra], kdump: true });
    expect(fallback.problems[0]).toMatch(/^QUIRK TABLE REFUSED: .*owned by uid 65534/);
    expect(fallback.table.sources.map((x) => x.label)).toEqual(['default.quirks']);
  });
});
