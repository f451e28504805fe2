import * as fs from 'node:fs';
import { pino, type Logger } from 'pino';

/** What the kernel accepts in one /dev/kmsg write (PRINTKRB_RECORD_MAX is 1024; longer is refused with EINVAL). */
const KMSG_MAX = 976;
const KMSG_PREFIX = 'pci-reset-agent: ';
/** syslog priorities for pino's levels. */
const PRIORITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

export interface ApplyLogOptions {
  /** Host path of the kernel log device (ROOT/dev/kmsg) when it exists; null for none. */
  kmsgPath: string | null;
  /** Where JSON lines go besides kmsg (stderr). */
  write: (line: string) => void;
  level?: string;
}

export interface ApplyLog {
  log: Logger;
  /** Problems with the log itself (kmsg unwritable), for the report. */
  problems: string[];
  close(): void;
}

/**
 * pino, one JSON line per event, to stderr and, in a capture kernel, to /dev/kmsg with the
 * `pci-reset-agent: ` prefix and the event's syslog priority, so it lands in the capture kernel's dmesg
 * and on the console. A line too long for one kmsg record is cut down to its key fields.
 */
export function createApplyLog(options: ApplyLogOptions): ApplyLog {
  const problems: string[] = [];
  let kmsg: number | null = null;
  if (options.kmsgPath) {
    try {
      kmsg = fs.openSync(options.kmsgPath, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    } catch (err) {
      problems.push(`${options.kmsgPath}: cannot open for writing (${(err as NodeJS.ErrnoException).code}); events go to stderr only`);
    }
  }
  const destination = {
    write(line: string): void {
      options.write(line);
      if (kmsg === null) return;
      try {
        fs.writeSync(kmsg, kmsgRecord(line));
      } catch (err) {
        problems.push(`kmsg write failed (${(err as NodeJS.ErrnoException).code}); events go to stderr only from here`);
        closeQuietly(kmsg);
        kmsg = null;
      }
    },
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
    close() {
      if (kmsg !== null) closeQuietly(kmsg);
      kmsg = null;
    },
  };
}

/** `<prio>pci-reset-agent: {json}`, within one kmsg record. */
export function kmsgRecord(line: string): string {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  let level = 'info';
  let body = text;
  try {
    const obj = JSON.parse(text) as Record<string, unknown>;
    if (typeof obj.level === 'string') level = obj.level;
    if (Buffer.byteLength(text) + KMSG_PREFIX.length + 4 > KMSG_MAX) {
      const keep: Record<string, unknown> = { truncated: true };
      for (const k of ['level', 'time', 'event', 'step', 'method', 'target', 'status', 'durationMs', 'bdf', 'error', 'msg']) if (k in obj) keep[k] = obj[k];
      body = JSON.stringify(keep);
      if (Buffer.byteLength(body) + KMSG_PREFIX.length + 4 > KMSG_MAX) {
        keep.msg = String(keep.msg ?? '').slice(0, 200);
        keep.error = typeof keep.error === 'string' ? keep.error.slice(0, 300) : keep.error;
        body = JSON.stringify(keep);
      }
    }
  } catch {
    body = text.slice(0, KMSG_MAX - KMSG_PREFIX.length - 8);
  }
  return `<${PRIORITY[level] ?? 6}>${KMSG_PREFIX}${body}\n`;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing to do
  }
}
