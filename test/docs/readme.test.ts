import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT } from '../helpers/run-built.js';

const README = fs.readFileSync(path.join(PROJECT, 'README.md'), 'utf8');
const DOCS = fs.readdirSync(path.join(PROJECT, 'docs')).filter((f) => f.endsWith('.md'));

/** The README is the front door (issue 15.7, 15.9): short, its links work, one command form, no internal references. */
describe('README and docs', () => {
  it('the README is at most 15 KB', () => {
    expect(Buffer.byteLength(README)).toBeLessThanOrEqual(15 * 1024);
  });

  it('every relative link and picture of README and docs/ resolves', () => {
    for (const [file, text] of [['README.md', README], ...DOCS.map((d) => [`docs/${d}`, fs.readFileSync(path.join(PROJECT, 'docs', d), 'utf8')])] as const) {
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        expect(fs.existsSync(path.resolve(PROJECT, path.dirname(file), target)), `${file}: ${target}`).toBe(true);
      }
    }
  });

  it('one way to run the CLI: npx pci-reset-agent, never npm start', () => {
    for (const [file, text] of [['README.md', README], ...DOCS.map((d) => [`docs/${d}`, fs.readFileSync(path.join(PROJECT, 'docs', d), 'utf8')])] as const) {
      expect(text.includes('npm start'), file).toBe(false);
    }
  });

  it('no references a reader cannot follow', () => {
    for (const [file, text] of [['README.md', README], ...DOCS.map((d) => [`docs/${d}`, fs.readFileSync(path.join(PROJECT, 'docs', d), 'utf8')])] as const) {
      expect(text, file).not.toMatch(/issue #\d|\bsession \d|the issue asks/i);
    }
  });
});
