import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT, runBuilt } from '../helpers/run-built.js';

const README = fs.readFileSync(path.join(PROJECT, 'README.md'), 'utf8');

/**
 * Output shown in the README is real: each `$ npx pci-reset-agent …` block is the command's output as it
 * is now (up to a line `…`, which stands for the rest).
 */
describe('README examples', () => {
  const blocks = [...README.matchAll(/```\n\$ npx pci-reset-agent ([^\n]+)\n([\s\S]*?)```/g)];

  it('the README shows at least one command with its output', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  for (const [, command, shown] of blocks) {
    it(`pci-reset-agent ${command} prints what the README shows`, () => {
      const r = runBuilt(command!.split(' '), { cwd: PROJECT });
      const lines = shown!.replace(/\n$/, '').split('\n');
      const cut = lines.indexOf('…');
      const expected = cut >= 0 ? lines.slice(0, cut) : lines;
      expect(r.stdout.split('\n').slice(0, expected.length)).toEqual(expected);
    });
  }
});
