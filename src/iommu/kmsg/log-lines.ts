/**
 * Kernel log text in any of the shapes the agent meets, reduced to bare message lines:
 *
 * - /dev/kmsg records: `PRI,SEQ,TS_USEC,FLAGS[,…];message` with non-printable bytes escaped as `\xNN`
 *   (a printk with an embedded newline arrives as one record holding `\x0a`), followed by dictionary
 *   lines that start with a space (` SUBSYSTEM=pci`, ` DEVICE=+pci:0000:00:14.0`);
 * - `dmesg` / `vmcore-dmesg` output: `[    1.234567] message`, `dmesg -T` `[Thu Jan  4 23:12:54 2024]`,
 *   `dmesg -r` `<3>[    1.2] message`;
 * - syslog / journal exports: `Nov 24 22:37:01 host kernel: message`.
 */
export interface LogLine {
  /** 1-based line (or record) number in the source, to name it in problems. */
  n: number;
  text: string;
  /** kmsg sequence number when the source gave one. */
  seq: number | null;
}

const KMSG_RECORD = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/;
const TIMESTAMP = /^(?:<\d+>)?\[\s*(?:\d+\.\d+|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d [\d:]{8} \d{4})\]\s?/;
const SYSLOG = /^(?:[A-Z][a-z]{2} [ \d]\d [\d:]{8}|\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:?\d\d|Z)?) \S+ kernel: /;

export function toLogLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    const rec = KMSG_RECORD.exec(line);
    if (rec) {
      const seq = Number(rec[2]);
      // One record may hold several lines (old printks with embedded newlines).
      for (const part of unescapeKmsg(rec[4]!).split('\n')) if (part !== '') out.push({ n: i + 1, text: part, seq });
      continue;
    }
    // kmsg dictionary lines and journal continuation lines.
    if (line.startsWith(' ') && /^ [A-Z_]+=/.test(line)) continue;
    let t = line;
    const sys = SYSLOG.exec(t);
    if (sys) t = t.slice(sys[0].length);
    // Serial-console captures add their own stamp in front of the kernel's: strip every one.
    for (let ts = TIMESTAMP.exec(t); ts; ts = TIMESTAMP.exec(t)) t = t.slice(ts[0].length);
    out.push({ n: i + 1, text: t, seq: null });
  }
  return out;
}

/** Undo devkmsg_read()'s `\xNN` escaping (it escapes bytes < 0x20, ≥ 0x7f and the backslash itself). */
export function unescapeKmsg(s: string): string {
  if (!s.includes('\\x')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-f]{2}$/i.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const code = s.charCodeAt(i);
      if (code < 0x80) bytes.push(code);
      else for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
