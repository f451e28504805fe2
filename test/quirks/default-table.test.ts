import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultQuirksPath } from '../../src/quirks/default-path.js';
import { DEFAULT_QUIRKS_TEXT } from '../../src/quirks/default-text.js';
import { defaultTable } from '../../src/quirks/load.js';
import { parseQuirks } from '../../src/quirks/parse.js';

// Every reset quirk of Linux 6.18.19's drivers/pci/quirks.c, tabulated (source named on the fixture's first line).
const TSV = new URL('../fixtures/linux-6.18-quirks.tsv', import.meta.url);

describe('default quirk table', () => {
  it('is found on disk from the sources and embedded verbatim (run `node quirks/embed.mjs` after editing it)', () => {
    const p = defaultQuirksPath();
    expect(p).not.toBeNull();
    expect(fs.readFileSync(p!, 'utf8')).toBe(DEFAULT_QUIRKS_TEXT);
  });

  it('parses without a single error', () => {
    const r = parseQuirks(DEFAULT_QUIRKS_TEXT, 'default.quirks', 0, { collect: true });
    expect(r.errors.map((e) => e.message)).toEqual([]);
    expect(r.entries.length).toBeGreaterThan(90);
  });

  it('carries every reset quirk of quirks.tsv (except ACS and the Intel MID one), citing function and source line', () => {
    const rows = fs
      .readFileSync(TSV, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .slice(1)
      .map((l) => l.split('\t'))
      .filter((c) => c[2] !== 'acs_enabled' && !c[8]!.startsWith('arch/'));
    const table = defaultTable();
    for (const c of rows) {
      const [vendor, , , , , fn, , , source] = c as [string, string, string, string, string, string, string, string, string];
      const hit = table.entries.find(
        (e) => e.kernel === fn && e.match.vendor === parseInt(vendor, 16) && e.reason.includes(source) && e.reason.includes(fn),
      );
      expect(hit, `${vendor} ${fn} ${source}`).toBeDefined();
    }
    expect(rows.length).toBe(90);
  });
});
