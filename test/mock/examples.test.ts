import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, writeExamples } from '../../src/mock/write-examples.js';
import { tmpDir } from '../helpers/tmp-root.js';

/** Every file and link of a tree, with content, so two trees can be compared whole. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const p = path.join(dir, r);
      if (e.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) walk(r);
      // Content only: git keeps no file modes beyond the executable bit.
      else out[r] = fs.readFileSync(p).toString('base64');
    }
  };
  walk('');
  return out;
}

describe('bundled example trees', () => {
  it('examples/ is what the builder writes (run `npm run examples` after changing a tree)', () => {
    const fresh = tmpDir();
    writeExamples(fresh);
    const repoExamples = path.resolve(__dirname, '../../examples');
    for (const name of Object.keys(EXAMPLES)) {
      expect(snapshot(path.join(repoExamples, name)), name).toEqual(snapshot(path.join(fresh, name)));
    }
  });
});
