import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { plotTable, readTables } from '../../bench/plot.js';
import { PROJECT } from '../helpers/run-built.js';
import { tmpDir } from '../helpers/tmp-root.js';

const DRAW = path.join(PROJECT, 'scripts/draw');

/** The pictures in docs/img/ are generated from source in the repository (issue 15.8). */
describe('pictures', () => {
  const scripts = fs.readdirSync(DRAW).filter((f) => f.endsWith('.mjs') && f !== 'svg.mjs');

  it('every script draws a picture', () => {
    expect(scripts.sort()).toEqual(['bus-reset-blast-radius.mjs', 'iommu-cases.mjs', 'kdump-timeline.mjs']);
  });

  for (const script of scripts) {
    it(`docs/img/${script.replace(/\.mjs$/, '.svg')} is what scripts/draw/${script} draws (re-run it after a change)`, () => {
      const out = tmpDir();
      const r = spawnSync(process.execPath, [path.join(DRAW, script), out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const name = script.replace(/\.mjs$/, '.svg');
      expect(fs.readFileSync(path.join(out, name), 'utf8')).toBe(fs.readFileSync(path.join(PROJECT, 'docs/img', name), 'utf8'));
    });
  }

  it('bench plots: a table with time columns becomes one bar per row and column, others are skipped', () => {
    const md = '### scan\n\n| functions | lspci | `scan --json` (÷ lspci) | RSS |\n|---:|---:|---:|---:|\n| 1000 | 86 ms | 209 ms (2.43) | 58 MB |\n| 5000 | 378 ms | 495 ms (1.31) | 74 MB |\n\n### other\n\n| a | b |\n|---|---|\n| x | 3 MB |\n';
    const tables = readTables(md);
    expect(tables.map((t) => t.section)).toEqual(['scan', 'other']);
    const svg = plotTable(tables[0]!)!;
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<rect x="150"/g)).toHaveLength(4);
    expect(svg).toContain('495 ms');
    expect(plotTable(tables[1]!)).toBeNull();
  });
});
