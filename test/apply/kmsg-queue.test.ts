import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KMSG_QUEUE_MAX_BYTES, KmsgQueue } from '../../src/apply/kmsg-queue.js';
import { createApplyLog, kmsgRecord } from '../../src/apply/log.js';
import { tmpDir } from '../helpers/tmp-root.js';

const record = (i: number, pad = 0): string => `<6>pci-reset-agent: {"event":"step.start","step":${i}${pad ? `,"pad":"${'x'.repeat(pad)}"` : ''}}\n`;

/** Whether process `pid` is gone (waited for: SIGKILL is delivered, not awaited, by kill()). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe('kernel log through a helper process (issue 16)', () => {
  it('each record is one write, in order, and every one is counted written', async () => {
    const file = path.join(tmpDir(), 'log');
    const fd = fs.openSync(file, 'w');
    const q = new KmsgQueue(fd);
    fs.closeSync(fd);
    expect(q.running).toBe(true);
    const recs = Array.from({ length: 500 }, (_, i) => record(i));
    for (const r of recs) q.write(r);
    await q.flush(performance.now() + 60_000);
    const c = q.close();
    expect(c).toEqual({ written: 500, dropped: 0, failed: 0, error: null });
    expect(fs.readFileSync(file, 'utf8')).toBe(recs.join(''));
  });

  it('a kernel log that does not take its writes never holds the agent: the flush ends at its bound, the helper is killed, and what it did not write is counted', async () => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'console');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Opened read-write so that the open does not wait for a reader; nobody reads it: once its 64 KiB are
    // full the helper's write(2) sleeps, as one waiting for a console would.
    const fd = fs.openSync(fifo, fs.constants.O_RDWR);
    try {
      const q = new KmsgQueue(fd);
      const n = Math.ceil((2 * KMSG_QUEUE_MAX_BYTES) / 300);
      for (let i = 0; i < n; i++) q.write(record(i, 240));
      await q.flush(performance.now() + 500);
      const pid = q.pid!;
      const c = q.close();
      expect(c.written + c.dropped).toBe(n);
      expect(c.dropped).toBeGreaterThan(0);
      expect(await gone(pid)).toBe(true);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('createApplyLog: events reach the kernel log through the helper; flush, then close counts them', async () => {
    if (process.getuid?.() !== 0) return;
    // A harmless character device (1:3, like /dev/null) stands in for 1:11 (kmsg-device.ts refuses
    // anything but the device it is told to expect).
    const dev = path.join(tmpDir(), 'kmsg');
    expect(spawnSync('mknod', [dev, 'c', '1', '3']).status).toBe(0);
    const l = createApplyLog({ kmsgPath: dev, kmsgDevice: { major: 1, minor: 3 }, write: () => {} });
    expect(l.toKmsg).toBe(true);
    for (let i = 0; i < 20; i++) l.log.info({ event: 'step.start', step: i }, `step ${i}`);
    await l.flush(performance.now() + 60_000);
    expect(l.close()).toEqual({ written: 20, dropped: 0, failed: 0, error: null });
    expect(l.problems).toEqual([]);
  });

  it('a record handed to the helper carries when the event happened (CLOCK_MONOTONIC), as it may reach dmesg late', () => {
    const rec = kmsgRecord(`${JSON.stringify({ level: 'info', event: 'step.end', step: 2, msg: 'ok' })}\n`, 12.345678);
    expect(JSON.parse(rec.slice(rec.indexOf('{')))).toEqual({ level: 'info', event: 'step.end', step: 2, msg: 'ok', mono: 12.345678 });
    const long = kmsgRecord(JSON.stringify({ level: 'info', event: 'step.start', pad: 'x'.repeat(2000), msg: 'm' }), 3.5);
    expect(JSON.parse(long.slice(long.indexOf('{')))).toMatchObject({ truncated: true, mono: 3.5 });
  });
});
