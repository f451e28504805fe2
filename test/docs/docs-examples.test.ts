import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT, runBuilt } from '../helpers/run-built.js';

/**
 * Output shown in docs/*.md is real: each block that starts `$ pci-reset-agent …` is what the built CLI
 * prints now. A line `…` skips to the next shown line (or ends the comparison), a line ending in `…` is a
 * prefix of the real one, and times in ms (`read in 8.9 ms`) may differ.
 */
const DOCS = fs.readdirSync(path.join(PROJECT, 'docs')).filter((f) => f.endsWith('.md'));

const times = (line: string): string => line.replace(/\b\d+(?:\.\d+)? ms\b/g, 'N ms');

function lineMatches(actual: string | undefined, shown: string): boolean {
  if (actual === undefined) return false;
  return shown.endsWith('…') ? times(actual).startsWith(times(shown.slice(0, -1))) : times(actual) === times(shown);
}

/** null when `actual` shows as `shown`, else the first shown line that does not match. */
function firstMismatch(actual: string[], shown: string[]): string | null {
  let i = 0;
  for (let j = 0; j < shown.length; j++) {
    const s = shown[j]!;
    if (s === '…') {
      const next = shown[j + 1];
      if (next === undefined) return null;
      while (i < actual.length && !lineMatches(actual[i], next)) i++;
      if (i === actual.length) return next;
      continue;
    }
    if (!lineMatches(actual[i], s)) return s;
    i++;
  }
  return null;
}

describe('docs examples', () => {
  const blocks = DOCS.flatMap((d) =>
    [...fs.readFileSync(path.join(PROJECT, 'docs', d), 'utf8').matchAll(/```\n\$ npx pci-reset-agent ([^\n]+)\n([\s\S]*?)```/g)].map((m) => ({ doc: d, command: m[1]!, shown: m[2]! })),
  );

  it('the docs show commands with their output', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it('the matcher skips at `…`, takes a prefix before a trailing `…`, and ignores times', () => {
    expect(firstMismatch(['a', 'b', 'c', 'd'], ['a', '…', 'c', 'd'])).toBeNull();
    expect(firstMismatch(['a', 'bcd'], ['a', 'bc…'])).toBeNull();
    expect(firstMismatch(['read in 21.4 ms'], ['read in 8.9 ms'])).toBeNull();
    expect(firstMismatch(['a', 'b'], ['a', 'x'])).toBe('x');
    expect(firstMismatch(['a', 'b'], ['a', '…', 'x'])).toBe('x');
    expect(firstMismatch(['a'], ['a', 'b'])).toBe('b');
  });

  for (const { doc, command, shown } of blocks) {
    it(`docs/${doc}: pci-reset-agent ${command} prints what it shows`, () => {
      const r = runBuilt(command.split(' '), { cwd: PROJECT });
      const lines = shown.replace(/\n$/, '').split('\n');
      expect(firstMismatch(r.stdout.split('\n'), lines), r.stdout).toBeNull();
    });
  }
});
