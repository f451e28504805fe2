import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, runCli, tempDir } from '../plan/helpers.js';
import { unwrap } from '../helpers/unwrap.js';

afterAll(cleanup);

const FIXTURE = new URL('./fixtures/quirks-6.18.19-excerpt.c', import.meta.url).pathname;

describe('quirks commands', () => {
  it('lint: the built-in table is clean (exit 0); a bad table lists every error (exit 1)', async () => {
    const ok = await runCli(['quirks', 'lint', '--root', tempDir('pra-q-')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^1 table, \d+ entries: 0 errors, 0 warnings\n$/);
    const file = path.join(tempDir('pra-q-'), 'site.quirks');
    fs.writeFileSync(file, '# site\n1234:zz no_pm reason="a"\n168c:003e prefer=bus reason="b"\n1234:0001 no_pm reason="c"\n1234:0001 no_pm reason="d"\n');
    const bad = await runCli(['quirks', 'lint', file]);
    expect(bad.code).toBe(1);
    const lines = bad.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${file}:2:6: error: expected a device ID of 4 hex digits, * or a range DDDD-DDDD, found "zz"`);
    expect(lines[1]).toMatch(new RegExp(`^${file}:3:1: error: prefers bus, which default\\.quirks:\\d+ forbids`));
    expect(lines[2]).toBe(`${file}:5:1: warning: duplicate of ${file}:4 (same match, same actions)`);
    expect(lines[3]).toBe('1 table, 3 entries: 2 errors, 1 warning');
  });

  it('lint of the admin tables under a root', async () => {
    const root = tempDir('pra-q-');
    fs.mkdirSync(path.join(root, 'etc/pci-reset-agent/quirks.d'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/pci-reset-agent/quirks.d/10-a.quirks'), '1234:0001 wait=5ms reason="a"\n1234:0001 wait=6ms reason="b"\n');
    const r = await runCli(['quirks', 'lint', '--root', root]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('10-a.quirks:1:1: warning: shadowed by');
    expect(r.stdout).toMatch(/2 tables, \d+ entries: 0 errors, 2 warnings/);
  });

  it('lookup: which entries match and which wins', async () => {
    const r = await runCli(['quirks', 'lookup', '10de:10f0', '--class', '040300', '--root-bus', 'no', '--root', tempDir('pra-q-')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('quirk_nvidia_hda_pm');
    expect(r.stdout).toMatch(/In force:\n  d3hot: 20ms \(default\.quirks:\d+\)/);
    const hpsa = await runCli(['quirks', 'lookup', '103c:3230:103c:3234', '--class', '0104', '--json', '--root', tempDir('pra-q-')]);
    const j = JSON.parse(hpsa.stdout);
    expect(j.decided.no_pm).toMatch(/^default\.quirks:\d+$/);
    const bad = await runCli(['quirks', 'lookup', '10de', '--root', tempDir('pra-q-')]);
    expect(bad.code).toBe(2);
  });

  it('list: every entry, and JSON', async () => {
    const r = await runCli(['quirks', 'list', '--json', '--root', tempDir('pra-q-')]);
    const j = JSON.parse(r.stdout);
    expect(j.sources[0].label).toBe('default.quirks');
    expect(j.entries.length).toBe(j.sources[0].entries);
    expect(j.entries.find((e: { kernel: string }) => e.kernel === 'quirk_no_bus_reset').reason).toContain('drivers/pci/quirks.c:');
    const human = await runCli(['quirks', 'list', '--root', tempDir('pra-q-')]);
    expect(human.stdout.split('\n').filter((l) => [...l].length > 80)).toEqual([]);
  });

  it('diff-kernel: the excerpt matches (exit 0); a changed file is listed (exit 1)', async () => {
    const ok = await runCli(['quirks', 'diff-kernel', FIXTURE]);
    expect(ok.code).toBe(0);
    expect(unwrap(ok.stdout)).toContain('90 reset quirks; 90 as the table states them; 0 missing, 0 different, 0 no longer in the file, 0 moved.');
    const changed = path.join(tempDir('pra-q-'), 'quirks.c');
    fs.writeFileSync(changed, fs.readFileSync(FIXTURE, 'utf8').replace('DECLARE_PCI_FIXUP_HEADER(PCI_VENDOR_ID_TI, 0xb005, quirk_no_bus_reset);', 'DECLARE_PCI_FIXUP_HEADER(PCI_VENDOR_ID_TI, 0xb006, quirk_no_bus_reset);'));
    const r = await runCli(['quirks', 'diff-kernel', changed]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Missing from the table (1):');
    expect(r.stdout).toContain('104c:b006  no_bus  kernel=quirk_no_bus_reset');
    expect(r.stdout).toContain('In the table, not in this file (1):');
    const json = JSON.parse((await runCli(['quirks', 'diff-kernel', changed, '--json'])).stdout);
    expect(json.counts).toEqual({ missing: 1, different: 0, removed: 1, moved: 0 });
    const none = await runCli(['quirks', 'diff-kernel', '/nonexistent/quirks.c']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('pci-reset-agent: /nonexistent/quirks.c: no such file or directory (ENOENT)\n');
  });
});
