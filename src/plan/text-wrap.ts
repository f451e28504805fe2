/** Word-wrap for the 80-column human views: `first` prefixes the first line, `rest` the others. */
export function wrap(text: string, width: number, first: string, rest: string = ' '.repeat(first.length)): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    const prefixLen = lines.length === 0 ? first.length : rest.length;
    const room = width - prefixLen;
    let w = word;
    // A word longer than the line (a path, a long BDF list) is cut rather than overflowing.
    while (w.length > room && empty) {
      lines.push(line + w.slice(0, room));
      w = w.slice(room);
      line = rest;
    }
    if (!empty && line.length + 1 + w.length > width) {
      lines.push(line);
      line = rest + w;
    } else {
      line += (empty ? '' : ' ') + w;
    }
    empty = false;
  }
  if (!empty || lines.length === 0) lines.push(line);
  return lines;
}

/** Cut to `width` characters, marking the cut. */
export function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}
