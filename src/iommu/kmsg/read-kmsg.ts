import * as fs from 'node:fs';
import type { Root } from '../../access/root.js';
import { describeError } from '../describe-error.js';

export interface KmsgText {
  text: string;
  /** What was read, for evidence: `dev/kmsg` or the file given. */
  source: string;
  /** Sequence number of the first record when read as kmsg records, else null. */
  firstSeq: number | null;
  /** Records were lost while reading (EPIPE): the log is not continuous. */
  gaps?: boolean;
  problems: string[];
}

/** Upper bounds so a kernel that logs without pause cannot keep the reader in the loop. */
const MAX_RECORDS = 500_000;
const MAX_MS = 2_000;
/** printk records are at most ~1 KiB of text; escaping can quadruple that. */
const RECORD_BUFFER = 16 * 1024;

type ReadFn = (fd: number, buf: Buffer, offset: number, length: number, position: null) => number;

/**
 * The running kernel's log. From a file (`--kmsg FILE`: a saved /dev/kmsg, dmesg or journal export), or
 * from `dev/kmsg` under the root: a character device is read record by record with O_NONBLOCK until
 * EAGAIN (the end of what is buffered now), so the agent never waits for new messages; EPIPE means the
 * kernel overwrote records we had not read yet, which is reported and skipped. A regular file there (a
 * mock root) is read whole.
 */
export function readKmsg(root: Root, file?: string): KmsgText | null {
  const read = readKmsgText(root, file);
  return read === null ? null : kernelFacilityOnly(read);
}

/**
 * Only the kernel's own messages are evidence. Any process that can write /dev/kmsg adds records of its
 * choosing; devkmsg_write() (kernel/printk/printk.c) gives them the user facility unless the writer sets
 * one (`<14>` is user.info, what a plain write gets), while printk() records carry facility 0
 * (LOG_KERN). A record whose PRI has a facility (PRI ≥ 8), in kmsg format (`PRI,SEQ,…;`) or `dmesg -r`
 * format (`<PRI>[…]`), is dropped with its dictionary lines, and the count is said among the problems.
 */
export function kernelFacilityOnly(read: KmsgText): KmsgText {
  let dropped = 0;
  let skipping = false;
  const kept: string[] = [];
  for (const line of read.text.split('\n')) {
    const pri = /^(\d+),\d+,\d+,[^;\n]*;/.exec(line)?.[1] ?? /^<(\d+)>\[/.exec(line)?.[1];
    if (pri !== undefined) {
      skipping = Number(pri) >= 8;
      if (skipping) {
        dropped++;
        continue;
      }
    } else if (skipping && line.startsWith(' ')) {
      continue;
    } else {
      skipping = false;
    }
    kept.push(line);
  }
  if (dropped === 0) return read;
  const text = kept.join('\n');
  return {
    ...read,
    text,
    firstSeq: firstRecordSeq(text),
    problems: [...read.problems, `${read.source}: ${dropped} record(s) written by userspace (a syslog facility other than kernel, e.g. <14> user.info) ignored: only the kernel's own messages count as evidence`],
  };
}

function readKmsgText(root: Root, file?: string): KmsgText | null {
  if (file !== undefined) {
    try {
      const text = fs.readFileSync(file, 'utf8');
      return { text, source: file, firstSeq: firstRecordSeq(text), problems: [] };
    } catch (err) {
      return { text: '', source: file, firstSeq: null, problems: [`--kmsg ${file}: ${describeError(err)}`] };
    }
  }
  const rel = 'dev/kmsg';
  let host: string;
  let st: fs.Stats;
  try {
    host = root.resolve(rel);
    st = fs.statSync(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    return { text: '', source: rel, firstSeq: null, problems: [`${rel}: ${describeError(err)}`] };
  }
  if (st.isFile()) {
    try {
      const text = root.readFile(rel).toString('utf8');
      return { text, source: rel, firstSeq: firstRecordSeq(text), problems: [] };
    } catch (err) {
      return { text: '', source: rel, firstSeq: null, problems: [`${rel}: ${describeError(err)}`] };
    }
  }
  let fd: number;
  try {
    fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EPERM' || code === 'EACCES' ? ' (kernel.dmesg_restrict needs CAP_SYSLOG)' : '';
    return { text: '', source: rel, firstSeq: null, problems: [`${rel}: ${describeError(err)}${why}`] };
  }
  try {
    return { ...readRecords(fd, fs.readSync as ReadFn), source: rel };
  } finally {
    fs.closeSync(fd);
  }
}

/** Read kmsg records from an open non-blocking descriptor; exported with an injectable read for tests. */
export function readRecords(fd: number, read: ReadFn, now: () => number = Date.now): Omit<KmsgText, 'source'> {
  const problems: string[] = [];
  const records: string[] = [];
  const buf = Buffer.alloc(RECORD_BUFFER);
  let lost = 0;
  const started = now();
  for (;;) {
    if (records.length >= MAX_RECORDS || now() - started > MAX_MS) {
      problems.push(`dev/kmsg: stopped after ${records.length} records and ${now() - started} ms; later messages not read`);
      break;
    }
    let n: number;
    try {
      n = read(fd, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') break;
      if (code === 'EPIPE') {
        // The ring buffer wrapped past our position; the next read continues at the oldest record left.
        lost++;
        continue;
      }
      problems.push(`dev/kmsg: read failed after ${records.length} records: ${describeError(err)}`);
      break;
    }
    if (n === 0) break;
    records.push(buf.toString('utf8', 0, n).replace(/\n$/, ''));
  }
  if (lost > 0) problems.push(`dev/kmsg: ${lost} time(s) records were overwritten before they could be read (EPIPE); the log has gaps`);
  const text = records.join('\n');
  return { text, firstSeq: firstRecordSeq(text), gaps: lost > 0, problems };
}

/** Sequence number of the first kmsg-format record in a text, null when it is not kmsg format. */
function firstRecordSeq(text: string): number | null {
  const m = /^\d+,(\d+),\d+,[^;\n]*;/.exec(text);
  return m ? Number(m[1]) : null;
}
