/**
 * Read `NAME=value` assignments from a shell fragment (/etc/default/kdump-tools, /etc/sysconfig/kdump)
 * without running it: quotes are undone, comments dropped. What a parser cannot know (a `$VAR`, a
 * command substitution, an `if`) is reported, never guessed.
 */
export interface ShellVars {
  values: Map<string, string>;
  /** Lines whose value depends on the shell (expansions), by variable. */
  unsure: string[];
}

export function parseShellVars(text: string, label: string): ShellVars {
  const values = new Map<string, string>();
  const unsure: string[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const raw = m[2]!;
    let value = '';
    let i = 0;
    let expands = false;
    while (i < raw.length) {
      const c = raw[i]!;
      if (c === "'") {
        const end = raw.indexOf("'", i + 1);
        if (end < 0) break;
        value += raw.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        let j = i + 1;
        while (j < raw.length && raw[j] !== '"') {
          if (raw[j] === '\\' && j + 1 < raw.length) {
            value += raw[j + 1];
            j += 2;
            continue;
          }
          if (raw[j] === '$' || raw[j] === '`') expands = true;
          value += raw[j];
          j++;
        }
        i = j + 1;
      } else if (/\s/.test(c) || c === '#' || c === ';') {
        break;
      } else {
        if (c === '$' || c === '`') expands = true;
        value += c;
        i++;
      }
    }
    values.set(name, value);
    if (expands) unsure.push(`${label}:${n + 1}: ${name} uses a shell expansion; taken literally`);
  }
  return { values, unsure };
}
