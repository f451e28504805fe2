import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import type { Readable, Writable } from 'node:stream';

/**
 * The helper's whole program (`node -e`, node: built-ins only). Its fd 1 is the kernel log the agent
 * opened and checked (kmsg-device.ts); fd 0 brings records, one a line (a record holds no other newline:
 * kmsgRecord() escapes them); each record goes out as one write(2), which devkmsg_write()
 * (kernel/printk/printk.c) makes one record of, and is answered on fd 3 with `+` or `-CODE`, one a line.
 * A write that waits for the console waits here, not in the agent.
 */
export const KMSG_CHILD_SOURCE = String.raw`'use strict';
const fs = require('node:fs');
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
    const rec = buf.slice(0, i + 1);
    buf = buf.slice(i + 1);
    let ack = '+\n';
    try { fs.writeSync(1, rec); } catch (e) { ack = '-' + (e.code || 'EIO') + '\n'; }
    try { fs.writeSync(3, ack); } catch { process.exit(0); }
  }
});
process.stdin.on('end', () => process.exit(0));
`;

/** Options for the helper's node: a small heap, as the agent's own (bin.ts). */
const CHILD_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=16'];
/**
 * Most bytes handed to the helper and not yet written: ~1,000 records. A serial console at 115200 baud
 * prints about 11 KB/s, so this is already far more than one run can show on it before its deadline;
 * what comes beyond is dropped and counted.
 */
export const KMSG_QUEUE_MAX_BYTES = 256 * 1024;

export interface KmsgCounts {
  /** Records the kernel took. */
  written: number;
  /** Records not written: the queue was full, or the run ended before the helper wrote them. */
  dropped: number;
  /** Records the kernel refused (the first error code in `error`). */
  failed: number;
  error: string | null;
}

/**
 * Writes to the kernel log off the agent's critical path. Each write to /dev/kmsg runs printk, and on a
 * kernel that prints to a serial console in the writer's context (legacy consoles: vprintk_emit() ->
 * console_unlock(), kernel/printk/printk.c) it returns only once the console has printed it: measured in
 * the QEMU e2e as 0.2-0.46 s between the `step.start` lines of one wave, each reset started only after
 * the line before it had gone out on ttyS0. Here the agent hands records to a helper process through a
 * pipe (never blocks: what the pipe does not take is queued in memory, up to KMSG_QUEUE_MAX_BYTES) and the
 * helper makes the writes. At the end flush() waits for them up to a bound (the run's deadline), then
 * close() kills the helper: whatever it had not written is counted as dropped, never lost silently.
 * A process, not a thread: process.exit() joins threads, and a thread asleep in a console write would
 * keep the agent alive (see kernel-writer.ts for the same reason).
 */
export class KmsgQueue {
  private child: ChildProcess | null = null;
  private stdin: Writable | null = null;
  private sent = 0;
  private readonly counts: KmsgCounts = { written: 0, dropped: 0, failed: 0, error: null };
  private ackBuf = '';
  private waiters: (() => void)[] = [];

  /** `fd`: the kernel log, opened and checked; the helper gets it as its stdout. */
  constructor(fd: number) {
    try {
      const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
      const child = spawn(process.execPath, [...CHILD_NODE_FLAGS, '-e', KMSG_CHILD_SOURCE], { stdio: ['pipe', fd, 'ignore', 'pipe'] });
      this.child = child;
      this.stdin = child.stdin!;
      // A closed pipe (the helper died) is seen through 'exit'; the error itself says nothing more.
      this.stdin.on('error', () => {});
      const acks = child.stdio[3] as Readable;
      acks.setEncoding('utf8');
      acks.on('data', (d: string) => this.onAcks(d));
      acks.on('error', () => {});
      child.on('error', () => this.gone());
      child.on('exit', () => this.gone());
      // On a single CPU (a capture kernel runs nr_cpus=1) the helper's start-up and its console writes
      // should take the CPU only while the agent waits (its resets' mandated waits), not while it works.
      try {
        if (child.pid !== undefined) os.setPriority(child.pid, 19);
      } catch {
        // not allowed or gone: it runs at the agent's priority
      }
      child.unref();
      (acks as unknown as { unref?: () => void }).unref?.();
    } catch {
      this.child = null;
      this.stdin = null;
    }
  }

  /** Whether the helper could be started (else every record is counted dropped). */
  get running(): boolean {
    return this.child !== null;
  }

  /** The helper's process id while it runs (tests). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Hand one record over (it must end with its only newline). Never blocks. */
  write(record: string): void {
    if (!this.stdin || this.counts.error !== null) {
      this.counts.dropped++;
      return;
    }
    if (this.stdin.writableLength + record.length > KMSG_QUEUE_MAX_BYTES) {
      this.counts.dropped++;
      return;
    }
    this.sent++;
    this.stdin.write(record);
  }

  /** Records handed over and not answered yet. */
  get pending(): number {
    return this.sent - this.counts.written - this.counts.failed;
  }

  /**
   * Wait until every record handed over is written or refused, or until `until` (performance.now()),
   * whichever comes first. Keeps the process alive meanwhile; never past `until`.
   */
  async flush(until: number): Promise<void> {
    if (this.pending === 0 || !this.child) return;
    const left = until - performance.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const waiter = (): void => {
        if (this.pending === 0 || !this.child) done();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      };
      const timer = setTimeout(done, left);
      this.waiters.push(waiter);
    });
  }

  /** Stop: kill the helper; records it had not answered are counted dropped. Returns the final counts. */
  close(): KmsgCounts {
    const child = this.child;
    this.child = null;
    this.counts.dropped += this.pending;
    this.sent = this.counts.written + this.counts.failed;
    if (child) {
      child.removeAllListeners('exit');
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
      this.stdin?.destroy();
      (child.stdio[3] as Readable | null)?.destroy();
    }
    this.stdin = null;
    return { ...this.counts };
  }

  /** The counts so far (records still pending are in neither written nor dropped). */
  snapshot(): KmsgCounts {
    return { ...this.counts };
  }

  private onAcks(d: string): void {
    this.ackBuf += d;
    for (let i = this.ackBuf.indexOf('\n'); i >= 0; i = this.ackBuf.indexOf('\n')) {
      const a = this.ackBuf.slice(0, i);
      this.ackBuf = this.ackBuf.slice(i + 1);
      if (a === '+') this.counts.written++;
      else {
        this.counts.failed++;
        this.counts.error ??= a.slice(1) || 'EIO';
      }
    }
    for (const w of [...this.waiters]) w();
  }

  private gone(): void {
    if (!this.child) return;
    this.child = null;
    this.stdin = null;
    for (const w of [...this.waiters]) w();
  }
}
