import { wrap } from '../text/wrap.js';

/** Width of the terminal view of events (the CLI's human output fits 80 columns). */
const WIDTH = 80;
const LABEL: Record<string, string> = { fatal: 'error: ', error: 'error: ', warn: 'warning: ', info: '', debug: 'debug: ', trace: 'debug: ' };

/**
 * One pino JSON line as a terminal reads it: seconds since the log began, the level when it is not
 * plain information, the message, wrapped at 80 columns. Control characters in the message (a driver
 * or unit name from a hostile tree) are shown as `\xNN`, never sent to the terminal.
 */
export function formatEventText(line: string, startedMs: number): string {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${escapeControls(line.replace(/\n$/, ''))}\n`;
  }
  const t = typeof obj.time === 'string' ? Date.parse(obj.time) : NaN;
  const secs = Number.isFinite(t) ? Math.max(0, (t - startedMs) / 1000) : 0;
  const stamp = `[${secs.toFixed(3).padStart(7)}] `;
  const level = typeof obj.level === 'string' ? obj.level : 'info';
  const msg = typeof obj.msg === 'string' ? obj.msg : typeof obj.event === 'string' ? obj.event : '';
  return `${wrap(`${LABEL[level] ?? ''}${escapeControls(msg)}`, WIDTH, stamp, ' '.repeat(stamp.length)).join('\n')}\n`;
}

/** C0 and C1 controls and DEL as `\xNN` (what devkmsg_read() does to the kernel log's own text). */
export function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
