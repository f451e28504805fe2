import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { acquireLock, LockHeld } from '../../src/apply/lock.js';
import { createApplyLog, kmsgRecord } from '../../src/apply/log.js';
import { tmpDir } from '../helpers/tmp-root.js';

/** mknod needs CAP_MKNOD: the device-node cases run as root only. */
function canMknod(): boolean {
  return process.getuid?.() === 0;
}

function mknod(p: string, major: number, minor: number): void {
  const r = spawnSync('mknod', [p, 'c', String(major), String(minor)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mknod ${p}: ${r.stderr}`);
}

describe('the lock under ROOT/run', () => {
  it('is taken, held against a second agent, released', () => {
    const dir = tmpDir();
    const root = new Root(dir);
    const lock = acquireLock(root);
    expect(lock.path).toBe(path.join(fs.realpathSync(dir), 'run/pci-reset-agent/apply.lock'));
    expect(fs.readFileSync(lock.path, 'utf8')).toBe(`${process.pid}\n`);
    fs.writeFileSync(lock.path, `${process.ppid}\n`);
    expect(() => acquireLock(root)).toThrow(LockHeld);
    fs.writeFileSync(lock.path, `${process.pid}\n`);
    lock.release();
    expect(fs.existsSync(lock.path)).toBe(false);
    expect(fs.readdirSync(path.dirname(lock.path))).toEqual([]);
  });

  it('a lock left by a dead process, or holding garbage, is taken over and reported', () => {
    const dir = tmpDir();
    const root = new Root(dir);
    fs.mkdirSync(path.join(dir, 'run/pci-reset-agent'), { recursive: true });
    const file = path.join(dir, 'run/pci-reset-agent/apply.lock');
    fs.writeFileSync(file, '4194303\n');
    const a = acquireLock(root, () => false);
    expect(a.recovered).toBe('stale lock of pid 4194303 (not running) taken over');
    a.release();
    fs.writeFileSync(file, 'garbage');
    const b = acquireLock(root);
    // Its content is never echoed (a lock could be a link to a secret: issue 11, item 4).
    expect(b.recovered).toBe('unreadable lock (7 bytes, not a PID) taken over');
    b.release();
  });
});

describe('logging', () => {
  it('a kmsg record: priority, the pci-reset-agent: prefix, one JSON line', () => {
    expect(kmsgRecord('{"level":"warn","event":"x","msg":"m"}\n')).toBe('<4>pci-reset-agent: {"level":"warn","event":"x","msg":"m"}\n');
    expect(kmsgRecord('{"level":"error","msg":"m"}')).toMatch(/^<3>pci-reset-agent: /);
  });

  /**
   * Regression: a driver or unit name holding a newline and `<0>` must not become a forged line (or a
   * forged priority) in the kernel log, and no terminal control may reach the console through it.
   */
  it('a kmsg record holds no newline but its last and no control character, whatever the event carries', () => {
    const lines: string[] = [];
    const l = createApplyLog({ kmsgPath: null, write: (s) => lines.push(s) });
    const evil = 'ixgbe\n<0>KERNEL PANIC\r\u001b[2J\u009b31m\u007f\u2028end';
    l.log.warn({ event: 'step.note', driver: evil }, `driver ${evil}`);
    l.close();
    for (const rec of [kmsgRecord(lines[0]!), kmsgRecord(JSON.stringify({ level: 'info', msg: evil, pad: 'x'.repeat(2000) })), kmsgRecord(`not json ${evil}`)]) {
      expect(rec.endsWith('\n')).toBe(true);
      expect(rec.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(rec).toMatch(/^<[346]>pci-reset-agent: /);
    }
    // stderr gets the same escaped JSON (still valid JSON, the text recovered exactly).
    expect(lines[0]!.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(JSON.parse(lines[0]!).driver).toBe(evil);
  });

  it('on a terminal: one readable line an event, wrapped at 80 columns, controls shown as \\xNN', () => {
    const lines: string[] = [];
    const l = createApplyLog({ kmsgPath: null, write: (s) => lines.push(s), format: 'text' });
    l.log.info({ event: 'apply.start' }, 'apply: 3 step(s) planned, IOMMU case 4');
    l.log.warn({ event: 'step.abandoned' }, `step 2 abandoned: ${'deadline reached before the step started '.repeat(3)}`);
    l.log.error({ event: 'x' }, 'name \u001b[31mred\u009b');
    l.log.debug({ event: 'y' }, 'not shown at info');
    l.close();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[ +\d+\.\d{3}\] apply: 3 step\(s\) planned, IOMMU case 4\n$/);
    expect(lines[1]).toMatch(/^\[ +\d+\.\d{3}\] warning: step 2 abandoned: /);
    for (const row of lines.join('').split('\n')) expect(row.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toContain('error: name \\x1b[31mred\\x9b');
    expect(lines.join('')).not.toMatch(/[\u001b\u009b]/);
  });

  it('cuts a line too long for one kmsg record down to its key fields', () => {
    const long = JSON.stringify({ level: 'info', event: 'step.start', step: 3, target: '0000:01:00.0', functions: Array.from({ length: 100 }, (_, i) => `0000:02:${i.toString(16).padStart(2, '0')}.0`), msg: 'step 3' });
    const rec = kmsgRecord(long);
    expect(Buffer.byteLength(rec)).toBeLessThan(1000);
    expect(JSON.parse(rec.slice(rec.indexOf('{')))).toEqual({ truncated: true, level: 'info', event: 'step.start', step: 3, target: '0000:01:00.0', msg: 'step 3' });
  });

  it('writes each event to stderr and to the kernel log device when it is one', async () => {
    if (!canMknod()) return;
    const dir = tmpDir();
    // A harmless character device (1:3, like /dev/null) stands in for 1:11: a real kmsg node would write
    // to the host's kernel log.
    const dev = path.join(dir, 'kmsg');
    mknod(dev, 1, 3);
    const lines: string[] = [];
    const l = createApplyLog({ kmsgPath: dev, write: (s) => lines.push(s), kmsgDevice: { major: 1, minor: 3 } });
    expect(l.toKmsg).toBe(true);
    l.log.info({ event: 'step.start', step: 1 }, 'hello');
    l.log.error({ event: 'step.end', step: 1 }, 'bad');
    await l.flush(performance.now() + 60_000);
    expect(l.close()).toEqual({ written: 2, dropped: 0, failed: 0, error: null });
    expect(lines.map((x) => JSON.parse(x))).toEqual([
      expect.objectContaining({ level: 'info', event: 'step.start', step: 1, msg: 'hello' }),
      expect.objectContaining({ level: 'error', event: 'step.end', msg: 'bad' }),
    ]);
    expect(l.problems).toEqual([]);
  });

  /**
   * Regression (issue: a symlink `dev/kmsg -> …/0000:08:00.0/config` made apply append log lines to an
   * unplanned device's config space). Only the character device 1:11 is the kernel log.
   */
  it('writes nothing to a dev/kmsg that is not the kernel log: a link, a regular file, a FIFO, another device', () => {
    const dir = tmpDir();
    const config = path.join(dir, 'config');
    fs.writeFileSync(config, Buffer.alloc(256));
    const link = path.join(dir, 'kmsg-link');
    fs.symlinkSync(config, link);
    const file = path.join(dir, 'kmsg-file');
    fs.writeFileSync(file, '');
    const fifo = path.join(dir, 'kmsg-fifo');
    spawnSync('mkfifo', [fifo]);
    const cases: [string, RegExp][] = [
      [link, /kmsg-link: a symbolic link, not the kernel log \(ELOOP\); events go to stderr only/],
      [file, /kmsg-file: a regular file, not the kernel log \(character device 1:11\); nothing written to it; events go to stderr only/],
      // Without a reader an O_WRONLY open of a FIFO would wait for one for ever; O_NONBLOCK answers ENXIO.
      [fifo, /kmsg-fifo: a FIFO without a reader, not the kernel log \(ENXIO\)/],
    ];
    if (canMknod()) {
      const other = path.join(dir, 'kmsg-null');
      mknod(other, 1, 3);
      cases.push([other, /kmsg-null: character device 1:3, not the kernel log \(character device 1:11\)/]);
    }
    for (const [p, problem] of cases) {
      const lines: string[] = [];
      const l = createApplyLog({ kmsgPath: p, write: (s) => lines.push(s) });
      expect(l.toKmsg).toBe(false);
      l.log.info({ event: 'x' }, 'still logged');
      l.close();
      expect(lines).toHaveLength(1);
      expect(l.problems).toEqual([expect.stringMatching(problem)]);
    }
    expect(fs.readFileSync(config)).toEqual(Buffer.alloc(256));
    expect(fs.readFileSync(file, 'utf8')).toBe('');
  });

  it('a FIFO with a reader is refused too, after the open, by what it is', () => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'kmsg');
    spawnSync('mkfifo', [fifo]);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const l = createApplyLog({ kmsgPath: fifo, write: () => {} });
      l.log.info({ event: 'x' }, 'm');
      l.close();
      expect(l.problems).toEqual([expect.stringMatching(/kmsg: a FIFO, not the kernel log/)]);
    } finally {
      fs.closeSync(reader);
    }
  });

  it('a kmsg that cannot be opened is a problem, not a failure', () => {
    const l = createApplyLog({ kmsgPath: path.join(tmpDir(), 'missing/kmsg'), write: () => {} });
    l.log.info({ event: 'x' }, 'still logged');
    expect(l.problems[0]).toMatch(/cannot open for writing \(ENOENT\)/);
  });
});
