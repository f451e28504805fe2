import { describe, expect, it } from 'vitest';
import { runBuilt } from '../helpers/run-built.js';

/** The widest line of a human view, in characters (the tree drawing is one column each). */
function widest(text: string): { width: number; line: string } {
  let best = { width: 0, line: '' };
  for (const line of text.split('\n')) {
    // JSON log records on a non-terminal stderr are for machines, not for an 80-column console.
    if (line.startsWith('{')) continue;
    const width = [...line].length;
    if (width > best.width) best = { width, line };
  }
  return best;
}

const TREES = ['examples/server', 'examples/laptop', 'examples/kdump-vm'];
const FIXTURE_QUIRKS_C = 'test/quirks/fixtures/quirks-6.18.19-excerpt.c';

/** Every command's human output on the example trees fits an 80-column console (issue 15.10). */
describe('human output fits 80 columns', () => {
  const runs: string[][] = [];
  for (const root of TREES) {
    runs.push(
      ['scan', '--root', root],
      ['iommu', '--root', root],
      ['plan', '--root', root],
      ['plan', '--root', root, '--all'],
      ['explain', '00:00.0', '--root', root],
      ['apply', '--simulate', '--root', root],
      ['apply', '--simulate', '--virtual-time', '--assume-capture-kernel', '--root', root],
      // A short deadline: every step abandoned, with its reason.
      ['apply', '--simulate', '--assume-capture-kernel', '--deadline', '5', '--root', root],
    );
  }
  runs.push(['quirks', 'list'], ['quirks', 'lookup', '8086:1572'], ['quirks', 'lookup', '10de:2342:17aa:222e', '--class', '0300'], ['quirks', 'diff-kernel', FIXTURE_QUIRKS_C], ['--help'], ['apply', '--help']);

  for (const args of runs) {
    it(args.join(' '), () => {
      const r = runBuilt(args);
      expect(r.code, r.stderr).toBeLessThan(6);
      const out = widest(r.stdout);
      expect(out.width, out.line).toBeLessThanOrEqual(80);
      const err = widest(r.stderr);
      expect(err.width, err.line).toBeLessThanOrEqual(80);
    });
  }
});
