import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { disableFsAt } from '../../native-bindings/fs-at.js';
import { Root } from '../../src/access/root.js';
import { acquireLock, LockHeld } from '../../src/apply/lock.js';
import { lockSocketName } from '../../src/apply/lock-without-flock.js';
import { takeLock } from '../../src/apply/take-lock.js';
import { tmpDir } from '../helpers/tmp-root.js';

/**
 * Without koffi there is no flock(2): the lock was then a file created O_EXCL, and a stale one was
 * unlinked and created again, which two agents racing for one stale lock could both pass (issue 11
 * item 13, the fallback's part). The fallback now holds the root's abstract socket name, which the kernel
 * gives to one socket only and frees when its holder dies.
 */
beforeEach(() => disableFsAt(true));
afterEach(() => disableFsAt(false));

function staleRoot(content = '999999\n'): { root: Root; file: string } {
  const dir = tmpDir('pra-root-');
  fs.mkdirSync(path.join(dir, 'run/pci-reset-agent'), { recursive: true });
  const file = path.join(dir, 'run/pci-reset-agent/apply.lock');
  fs.writeFileSync(file, content);
  return { root: new Root(dir), file };
}

/** Block this thread (as a slow unlink or a descheduled agent would), without the event loop turning. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('the lock without flock (koffi not loaded)', () => {
  it('the flock path refuses to run without flock instead of falling back to a racy file lock', () => {
    expect(new Root(tmpDir()).confinement).toBe('path');
    expect(() => acquireLock(new Root(tmpDir()))).toThrow(/ENOSYS|flock\(2\) is not available/);
  });

  it('is taken, written with the PID, held against a second agent, released', async () => {
    const root = new Root(tmpDir());
    const lock = await takeLock(root);
    expect(fs.readFileSync(lock.path, 'utf8')).toBe(`${process.pid}\n`);
    await expect(takeLock(root)).rejects.toBeInstanceOf(LockHeld);
    await expect(takeLock(root)).rejects.toThrow(`another pci-reset-agent apply is running (pid ${process.pid})`);
    lock.release();
    expect(fs.readdirSync(path.dirname(lock.path))).toEqual([]);
    (await takeLock(root)).release();
  });

  for (const phase of ['opened', 'locked', 'checked', 'written'] as const) {
    it(`two agents racing for a stale lock, the first stalled 400 ms at "${phase}": exactly one holds it`, async () => {
      const { root } = staleRoot();
      let rival: Promise<unknown> | null = null;
      const first = takeLock(root, {
        alive: () => false,
        at: (p) => {
          if (p !== phase || rival !== null) return;
          rival = takeLock(new Root(root.dir), { alive: () => false });
          rival.catch(() => {});
          stall(400);
        },
      });
      const results = await Promise.allSettled([first, (async () => { while (rival === null) await new Promise((r) => setTimeout(r, 1)); return rival; })()]);
      const held = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      expect(held).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(LockHeld);
      ((held[0] as PromiseFulfilledResult<{ release(): void }>).value).release();
    });
  }

  it('a holder that dies frees the lock at once (the kernel drops its name); a stale PID file is reported', async () => {
    const { root, file } = staleRoot();
    const name = lockSocketName(root);
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen({ path: ${JSON.stringify(name)} }, () => console.log('bound'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    await expect(takeLock(root, { alive: () => false })).rejects.toBeInstanceOf(LockHeld);
    const gone = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await gone;
    const lock = await takeLock(root, { alive: () => false });
    expect(lock.recovered).toBe('stale lock of pid 999999 (not running) taken over');
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });

  it('a lock file naming a live process (an agent that locks by the file only) is refused', async () => {
    const { root } = staleRoot(`${process.ppid}\n`);
    await expect(takeLock(root)).rejects.toThrow(`(pid ${process.ppid})`);
  });

  it('a link in place of the lock is replaced, never followed nor read; its target is untouched', async () => {
    const { root, file } = staleRoot();
    const outside = path.join(tmpDir('pra-outside-'), 'shadow');
    fs.writeFileSync(outside, 'root:$6$secret\n');
    fs.rmSync(file);
    fs.symlinkSync(outside, file);
    const lock = await takeLock(root);
    expect(lock.recovered).toBe('a symbolic link in place of the lock, removed (never followed nor read)');
    expect(fs.readFileSync(outside, 'utf8')).toBe('root:$6$secret\n');
    expect(fs.lstatSync(file).isFile()).toBe(true);
    lock.release();
  });
});
