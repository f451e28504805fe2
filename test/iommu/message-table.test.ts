import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MESSAGES } from '../../src/iommu/kmsg/messages.js';
import { BEGIN, DOC, END, loadFixtures, renderTable, seenIn } from './message-table.js';

// See message-table.ts: the per-kernel message table, held to the real logs of test/fixtures/iommu.
const fixtures = loadFixtures();

describe('the messages the verdict relies on, per kernel version (test/fixtures/iommu)', () => {
  it.skipIf(fixtures.length === 0)('each pattern names the e2e kernels whose real logs print it, exactly', () => {
    const wrong: string[] = [];
    for (const spec of MESSAGES) {
      const labels = [...new Set(fixtures.filter((f) => seenIn(spec, f.capture) || seenIn(spec, f.crashed)).map((f) => f.label))].sort();
      const claimed = [...spec.checked.e2e].sort();
      if (JSON.stringify(labels) !== JSON.stringify(claimed)) wrong.push(`${spec.name}: seen in ${JSON.stringify(labels)}, checked.e2e says ${JSON.stringify(claimed)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('every pattern names the kernel source it was checked against', () => {
    for (const spec of MESSAGES) expect(spec.checked.source, spec.name).toMatch(/\d+\.\d+/);
  });

  it.skipIf(fixtures.length === 0)('docs/iommu.md carries the table derived from the fixtures', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    expect(a, `docs/iommu.md needs the line ${BEGIN}`).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThan(a);
    const inDoc = doc.slice(a + BEGIN.length, b).trim();
    expect(inDoc, 'regenerate the table: the expected text is the right-hand side').toBe(renderTable(fixtures));
  });
});
