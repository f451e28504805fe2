// A few SVG primitives for the pictures in docs/img/ (no dependencies, deterministic output: the test
// test/docs/pictures.test.ts re-draws every picture and compares it with the checked-in file).
import * as fs from 'node:fs';
import * as path from 'node:path';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

export const FONT = 'font-family="DejaVu Sans, Verdana, sans-serif"';

export class Svg {
  constructor(width, height, title) {
    this.width = width;
    this.height = height;
    this.parts = [`<title>${esc(title)}</title>`, `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`];
  }

  rect(x, y, w, h, { fill = '#ffffff', stroke = '#333333', rx = 4, dash = null, width = 1 } = {}) {
    this.parts.push(`<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="${rx}" fill="${fill}" stroke="${stroke}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    return this;
  }

  /** Text; `lines` may be a string or an array (one tspan per line, `size` × 1.25 apart). */
  text(x, y, lines, { size = 12, anchor = 'start', weight = 'normal', fill = '#222222', italic = false } = {}) {
    const list = Array.isArray(lines) ? lines : [lines];
    const spans = list.map((l, i) => `<tspan x="${n(x)}" dy="${i === 0 ? 0 : n(size * 1.25)}">${esc(l)}</tspan>`).join('');
    this.parts.push(`<text x="${n(x)}" y="${n(y)}" ${FONT} font-size="${size}" text-anchor="${anchor}" font-weight="${weight}"${italic ? ' font-style="italic"' : ''} fill="${fill}">${spans}</text>`);
    return this;
  }

  line(x1, y1, x2, y2, { stroke = '#333333', width = 1, dash = null, arrow = false } = {}) {
    this.parts.push(`<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}${arrow ? ' marker-end="url(#arrow)"' : ''}/>`);
    return this;
  }

  polyline(points, { stroke = '#333333', width = 1.5, fill = 'none' } = {}) {
    this.parts.push(`<polyline points="${points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ')}" fill="${fill}" stroke="${stroke}" stroke-width="${width}"/>`);
    return this;
  }

  circle(x, y, r, { fill = '#333333' } = {}) {
    this.parts.push(`<circle cx="${n(x)}" cy="${n(y)}" r="${n(r)}" fill="${fill}"/>`);
    return this;
  }

  toString() {
    const defs = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333333"/></marker></defs>';
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}">\n${defs}\n${this.parts.join('\n')}\n</svg>\n`;
  }
}

/** Write `svg` to OUTDIR/name (OUTDIR: the first argument, default docs/img of the repository). */
export function save(name, svg) {
  const here = path.dirname(new URL(import.meta.url).pathname);
  const outdir = path.resolve(process.argv[2] ?? path.join(here, '../../docs/img'));
  fs.mkdirSync(outdir, { recursive: true });
  fs.writeFileSync(path.join(outdir, name), svg.toString());
}
