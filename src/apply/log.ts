import * as fs from 'node:fs';
import { pino, type Logger } from 'pino';
import { formatEventText } from './log-text.js';
import { KMSG_DEVICE, openKernelLog } from './kmsg-device.js';
import { KmsgQueue, type KmsgCounts } from './kmsg-queue.js';

/** What the kernel accepts in one /dev/kmsg write (PRINTKRB_RECORD_MAX is 1024; longer is refused with EINVAL). */
const KMSG_MAX = 976;
const KMSG_PREFIX = 'pci-reset-agent: ';
/** syslog priorities for pino's levels. */
const PRIORITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/** `json`: one JSON object a line (pipes, files, the kdump runner); `text`: one readable line (a terminal). */
export type LogFormat = 'json' | 'text';

export interface ApplyLogOptions {
  /**
   * Host path of the kernel log device (ROOT/dev/kmsg) to copy every event to, or null for none. Only a
   * character device with the kmsg numbers (1, 11) is written; anything else is named in `problems`.
   */
  kmsgPath: string | null;
  /** Where events go besides kmsg (stderr). */
  write: (line: string) => void;
  level?: string;
  /** How events are written to `write` (kmsg always gets JSON). Default json. */
  format?: LogFormat;
  /** Wall time (ms) the text format's stamps count from: the run's start. Default: now. */
  startedAt?: number;
  /** Device numbers kmsgPath must have (tests use another harmless device); default (1, 11). */
  kmsgDevice?: { major: number; minor: number };
  /**
   * Write the kernel log in this process, each event's write(2) before the next event (the behaviour
   * before issue 16; tests of the record format). Default: through a helper process (kmsg-queue.ts).
   */
  kmsgSync?: boolean;
}

export interface ApplyLog {
  log: Logger;
  /** Problems with the log itself (kmsg not the kernel's, unwritable), for the report. */
  problems: string[];
  /** Whether events are being copied to the kernel log. */
  readonly toKmsg: boolean;
  /**
   * Wait until the kernel log has every event handed over so far, or until `until` (performance.now()),
   * whichever is first; then name in `problems` the records it did not get (dropped or refused), if any.
   */
  flush(until: number): Promise<void>;
  /** Stop writing: the helper is killed; records it had not written are counted. Returns the counts (null without a kernel log). */
  close(): KmsgCounts | null;
}

/**
 * pino, one event per line, to stderr and, in a capture kernel, to /dev/kmsg with the `pci-reset-agent: `
 * prefix and the event's syslog priority, so it lands in the capture kernel's dmesg and on the console.
 * A line too long for one kmsg record is cut down to its key fields.
 */
export function createApplyLog(options: ApplyLogOptions): ApplyLog {
  const problems: string[] = [];
  let kmsg: number | null = null;
  if (options.kmsgPath) {
    const opened = openKernelLog(options.kmsgPath, options.kmsgDevice ?? KMSG_DEVICE);
    if (typeof opened === 'number') kmsg = opened;
    else problems.push(`${opened}; events go to stderr only`);
  }
  // Off the critical path: a helper process makes the writes (kmsg-queue.ts). If it cannot be started,
  // the agent writes them itself, as before, and says so.
  let queue: KmsgQueue | null = null;
  if (kmsg !== null && options.kmsgSync !== true) {
    queue = new KmsgQueue(kmsg);
    if (!queue.running) {
      queue = null;
      problems.push('the kernel-log helper process could not be started: events written to the kernel log by the agent itself, each waiting for the console');
    }
  }
  const format = options.format ?? 'json';
  const started = options.startedAt ?? Date.now();
  let reported = { dropped: 0, failed: 0 };
  const destination = {
    write(line: string): void {
      options.write(format === 'text' ? formatEventText(line, started) : escapeJsonLine(line));
      if (kmsg === null) return;
      if (queue) {
        // Written later by the helper, so dmesg stamps it late: the record carries when it happened.
        queue.write(kmsgRecord(line, monotonicSeconds()));
        return;
      }
      try {
        fs.writeSync(kmsg, kmsgRecord(line));
      } catch (err) {
        problems.push(`kmsg write failed (${(err as NodeJS.ErrnoException).code}); events go to stderr only from here`);
        closeQuietly(kmsg);
        kmsg = null;
      }
    },
  };
  /** Name, once, what the kernel log did not get since the last account. */
  const account = (c: KmsgCounts): string | null => {
    const dropped = c.dropped - reported.dropped;
    const failed = c.failed - reported.failed;
    reported = { dropped: c.dropped, failed: c.failed };
    const parts: string[] = [];
    if (failed > 0) parts.push(`${failed} refused by the kernel (${c.error}); none written after that`);
    if (dropped > 0) parts.push(`${dropped} not written (the queue was full, or the run's time was up while the console was still printing)`);
    return parts.length ? `kernel log: ${c.written} event record(s) written, ${parts.join('; ')}; every event is on stderr` : null;
  };
  const log = pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    log,
    problems,
    get toKmsg() {
      return kmsg !== null;
    },
    async flush(until: number) {
      if (!queue) return;
      await queue.flush(until);
      const c = queue.snapshot();
      const p = account(c);
      if (p) problems.push(p);
    },
    close() {
      let counts: KmsgCounts | null = null;
      if (queue) {
        counts = queue.close();
        queue = null;
        const p = account(counts);
        if (p) {
          problems.push(p);
          // After the report: said on stderr, the one place left.
          options.write(format === 'text' ? `pci-reset-agent: ${p}\n` : `${JSON.stringify({ level: 'warn', event: 'log.kmsg', msg: p })}\n`);
        }
      }
      if (kmsg !== null) closeQuietly(kmsg);
      kmsg = null;
      return counts;
    },
  };
}

/**
 * JSON escapes U+0000–U+001F, but DEL and the C1 controls (U+0080–U+009F: U+009B is CSI to a terminal
 * that takes 8-bit controls) pass through JSON.stringify raw, as do the Unicode line separators: escape
 * them too, so no name read from a device tree reaches a console or the kernel log as a control.
 */
export function escapeJsonLine(line: string): string {
  return line.replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `<prio>pci-reset-agent: {json}\n`, within one kmsg record. devkmsg_write() (kernel/printk/printk.c)
 * takes the leading `<N>` of the write as the record's level and keeps the rest, newlines included, as
 * one record's text: escaped JSON holds no newline and no control byte, so nothing after the prefix can
 * read as another line or another priority.
 */
export function kmsgRecord(line: string, mono?: number): string {
  let text = line.endsWith('\n') ? line.slice(0, -1) : line;
  let level = 'info';
  let body = text;
  try {
    const obj = JSON.parse(text) as Record<string, unknown>;
    if (mono !== undefined) {
      obj.mono = mono;
      text = body = JSON.stringify(obj);
    }
    if (typeof obj.level === 'string') level = obj.level;
    if (Buffer.byteLength(text) + KMSG_PREFIX.length + 4 > KMSG_MAX) {
      const keep: Record<string, unknown> = { truncated: true };
      for (const k of ['level', 'time', 'mono', 'event', 'step', 'method', 'target', 'status', 'durationMs', 'bdf', 'error', 'msg']) if (k in obj) keep[k] = obj[k];
      body = JSON.stringify(keep);
      if (Buffer.byteLength(body) + KMSG_PREFIX.length + 4 > KMSG_MAX) {
        keep.msg = String(keep.msg ?? '').slice(0, 200);
        keep.error = typeof keep.error === 'string' ? keep.error.slice(0, 300) : keep.error;
        body = JSON.stringify(keep);
      }
    }
  } catch {
    // Not JSON (never from pino): keep it as a JSON string, so it is escaped like the rest.
    body = JSON.stringify(text.slice(0, KMSG_MAX - KMSG_PREFIX.length - 8 >> 2));
  }
  return `<${PRIORITY[level] ?? 6}>${KMSG_PREFIX}${escapeJsonLine(body)}\n`;
}

/**
 * CLOCK_MONOTONIC in seconds (process.hrtime), µs resolution: the clock /proc/uptime and, within a few
 * ms, the kernel log's stamps (local_clock()) count from boot on, so a reader can place an event written
 * to the kernel log late at the time it happened (the e2e does, calibrated on the runner's line).
 */
export function monotonicSeconds(): number {
  return Math.round(Number(process.hrtime.bigint() / 1000n)) / 1e6;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing to do
  }
}
