/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests: HELP/TYPE lines, then
 * samples `name{label="value",...} value`; label values with \\, \" and \n escapes. Throws on anything
 * else, so a malformed line fails the test that produced it.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parseExposition(text: string): Sample[] {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const out: Sample[] = [];
  const typed = new Set<string>();
  for (const [n, line] of text.slice(0, -1).split('\n').entries()) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
      if (!m) throw new Error(`line ${n + 1}: bad comment: ${line}`);
      if (m[1] === 'TYPE') {
        if (!['gauge', 'counter', 'untyped', 'histogram', 'summary'].includes(m[3]!)) throw new Error(`line ${n + 1}: bad type`);
        if (typed.has(m[2]!)) throw new Error(`line ${n + 1}: second TYPE for ${m[2]}`);
        typed.add(m[2]!);
      }
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`line ${n + 1}: no metric name: ${line}`);
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0];
        if (!ln || line[i + ln.length] !== '=' || line[i + ln.length + 1] !== '"') throw new Error(`line ${n + 1}: bad label at ${i}`);
        i += ln.length + 2;
        let v = '';
        while (line[i] !== '"') {
          if (i >= line.length) throw new Error(`line ${n + 1}: unterminated label value`);
          if (line[i] === '\\') {
            const e = line[i + 1];
            if (e === 'n') v += '\n';
            else if (e === '\\' || e === '"') v += e;
            else throw new Error(`line ${n + 1}: bad escape`);
            i += 2;
          } else v += line[i++];
        }
        i++;
        if (ln in labels) throw new Error(`line ${n + 1}: label ${ln} twice`);
        labels[ln] = v;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') throw new Error(`line ${n + 1}: expected , or }`);
      }
      i++;
    }
    const rest = line.slice(i);
    const m = /^ (\S+)( -?\d+)?$/.exec(rest);
    if (!m) throw new Error(`line ${n + 1}: bad value: ${rest}`);
    const value = m[1] === '+Inf' ? Infinity : m[1] === '-Inf' ? -Infinity : m[1] === 'NaN' ? NaN : Number(m[1]);
    if (Number.isNaN(value) && m[1] !== 'NaN') throw new Error(`line ${n + 1}: bad number ${m[1]}`);
    if (!typed.has(name)) throw new Error(`line ${n + 1}: sample of ${name} before its TYPE`);
    out.push({ name, labels, value });
  }
  return out;
}
