import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Bar charts of the bench tables, as SVG with no dependencies: `npm run bench` calls plotResults() on
 * the markdown it wrote, so every plot shows exactly the figures of that run. A table is plotted when
 * some of its columns hold times (`123 ms`, optionally `(1.31)` after them): one group of bars per row
 * (labelled by its first cell), one bar per time column.
 */
export interface Table {
  section: string;
  header: string[];
  rows: string[][];
}

/** The markdown tables of a results file, with the `### section` each belongs to. */
export function readTables(markdown: string): Table[] {
  const tables: Table[] = [];
  let section = '';
  let current: Table | null = null;
  for (const line of markdown.split('\n')) {
    const heading = /^#{2,4} (.+)$/.exec(line);
    if (heading) section = heading[1]!.trim();
    if (!line.startsWith('|')) {
      current = null;
      continue;
    }
    const cells = line.split('|').slice(1, -1).map((c) => c.trim().replace(/`/g, '').replace(/\*\*/g, ''));
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    if (!current) {
      current = { section, header: cells, rows: [] };
      tables.push(current);
    } else current.rows.push(cells);
  }
  return tables;
}

/**
 * A cell's time in ms: `123 ms` (optionally followed by `(1.31)`), or a bare number (bold allowed, as in
 * `**433**`) when the column's header says its unit is ms (`wall (ms)`). Negative numbers are not times
 * (a "past the deadline" column), so such a column is not plotted.
 */
const msOf = (cell: string | undefined, header = ''): number | null => {
  const c = (cell ?? '').replace(/\*\*/g, '').trim();
  const m = /^(\d+(?:\.\d+)?) ms\b/.exec(c);
  if (m) return Number(m[1]);
  const bare = /\(ms\b|\bms\)/.test(header) ? /^(\d+(?:\.\d+)?)(?: \([^)]*\))?$/.exec(c) : null;
  return bare ? Number(bare[1]) : null;
};

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A row's label: its first cell, plus the next cells while they are words rather than measurements
 * (the overhead table's rows are told apart by functions, machine and build), cut to fit the margin.
 */
function rowLabel(t: Table, r: string[]): string {
  const parts = [r[0]!];
  for (let i = 1; i < Math.min(r.length, 4); i++) {
    const c = r[i]!.replace(/\*\*/g, '');
    if (msOf(c, t.header[i]) !== null || /^[\d.,/ ×%-]+|MB$/.test(c)) break;
    parts.push(c.replace(/\s*\(.*\)$/, ''));
  }
  const label = parts.join(', ');
  return label.length > 44 ? `${label.slice(0, 43)}…` : label;
}

/** One table as a horizontal grouped bar chart, or null when it has no time column. */
export function plotTable(t: Table): string | null {
  const cols = t.header.map((_, i) => i).filter((i) => i > 0 && t.rows.length > 0 && t.rows.every((r) => msOf(r[i], t.header[i]) !== null));
  if (cols.length === 0) return null;
  const max = Math.max(...t.rows.flatMap((r) => cols.map((c) => msOf(r[c], t.header[c])!)));
  // The label margin grows with the longest row label (about 6.2 px a character at 11 px), the bars keep 560 px.
  const left = Math.max(150, Math.ceil(Math.max(...t.rows.map((r) => rowLabel(t, r).length)) * 6.2) + 16);
  const plotW = 560;
  const W = left + plotW + 90;
  const bar = 14;
  const groupH = cols.length * (bar + 3) + 14;
  const legendH = cols.length * 16 + 10;
  const H = 40 + legendH + t.rows.length * groupH + 30;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Verdana, sans-serif">`);
  out.push(`<title>${esc(t.section)}</title>`, `<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="20" y="24" font-size="15" font-weight="bold">${esc(t.section.length > 80 ? `${t.section.slice(0, 79)}…` : t.section)} (ms)</text>`);
  cols.forEach((c, k) => {
    const y = 40 + k * 16;
    out.push(`<rect x="20" y="${y}" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/>`, `<text x="38" y="${y + 10}" font-size="11">${esc(t.header[c]!)}</text>`);
  });
  t.rows.forEach((r, i) => {
    const y0 = 40 + legendH + i * groupH;
    out.push(`<text x="${left - 8}" y="${y0 + groupH / 2}" font-size="11" text-anchor="end">${esc(rowLabel(t, r))}</text>`);
    cols.forEach((c, k) => {
      const v = msOf(r[c], t.header[c])!;
      const w = max > 0 ? (v / max) * plotW : 0;
      const y = y0 + k * (bar + 3);
      out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${COLORS[k % COLORS.length]}"/>`);
      out.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + bar - 3}" font-size="10">${v} ms</text>`);
    });
  });
  out.push(`<line x1="${left}" y1="${40 + legendH - 4}" x2="${left}" y2="${H - 20}" stroke="#333333"/>`, '</svg>', '');
  return out.join('\n');
}

/** Plot every plottable table of `resultsFile` into `outDir` as bench-<section>-<n>.svg; returns the files. */
export function plotResults(resultsFile: string, outDir: string): string[] {
  const written: string[] = [];
  fs.mkdirSync(outDir, { recursive: true });
  const seen = new Map<string, number>();
  for (const t of readTables(fs.readFileSync(resultsFile, 'utf8'))) {
    const svg = plotTable(t);
    if (!svg) continue;
    const slug = t.section.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'table';
    const n = (seen.get(slug) ?? 0) + 1;
    seen.set(slug, n);
    const file = path.join(outDir, `bench-${slug}${n > 1 ? `-${n}` : ''}.svg`);
    fs.writeFileSync(file, svg);
    written.push(file);
  }
  return written;
}
