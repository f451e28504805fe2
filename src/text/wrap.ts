import { printable } from './escape.js';

/** The narrowest room a wrapped line keeps after its prefix (a deep tree's indentation can eat the rest). */
const MIN_ROOM = 24;

/**
 * Word-wrap for the 80-column human views: `first` prefixes the first line, `rest` the others. The text
 * is made printable first (src/text/escape.ts), so its width is the width shown.
 */
export function wrap(text: string, width: number, first: string, rest: string = ' '.repeat(first.length)): string[] {
  const shown = printable(text);
  // A line that fits is kept as written (its double spaces too).
  if (first.length + shown.length <= width && !shown.startsWith(' ')) return [first + shown];
  const words = shown.split(' ').filter((w) => w !== '');
  const lines: string[] = [];
  let line = first;
  let empty = true;
  const limit = (prefix: string): number => Math.max(width, prefix.length + MIN_ROOM);
  for (let w of words) {
    if (!empty && line.length + 1 + w.length > limit(lines.length === 0 ? first : rest)) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    // A word longer than a whole line (a path, a long BDF list) is cut rather than overflowing.
    while (empty && line.length + w.length > limit(line)) {
      const room = limit(line) - line.length;
      lines.push(line + w.slice(0, room));
      w = w.slice(room);
      line = rest;
    }
    if (w === '') continue;
    line += (empty ? '' : ' ') + w;
    empty = false;
  }
  if (!empty || lines.length === 0) lines.push(line);
  return lines;
}

/** Cut to `width` characters, marking the cut (the text made printable first). */
export function fit(text: string, width: number): string {
  const t = printable(text);
  return t.length <= width ? t : `${t.slice(0, Math.max(0, width - 1))}…`;
}
