import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessError } from '../../../src/access/access-error.js';
import { KernelWriter } from '../../../src/apply/kernel-writer/kernel-writer.js';
import { tmpDir } from '../../helpers/tmp-root.js';

const writers: KernelWriter[] = [];
function writer(): KernelWriter {
  const w = new KernelWriter();
  writers.push(w);
  return w;
}
afterEach(() => {
  for (const w of writers.splice(0)) w.close();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Until `cond` holds (a hang detector, never a timing assertion: the bound is far above any real run). */
async function until(cond: () => boolean, what: string, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the helper process that makes writes the kernel may hold', () => {
  it('writes, and answers errors with the errno code and the path', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'reset');
    fs.writeFileSync(file, '');
    const w = writer();
    await w.write(file, '1');
    expect(fs.readFileSync(file, 'utf8')).toBe('1');
    await expect(w.write(path.join(dir, 'missing'), '1')).rejects.toMatchObject({ code: 'ENOENT', path: path.join(dir, 'missing') });
    fs.symlinkSync(file, path.join(dir, 'link'));
    const err = await w.write(path.join(dir, 'link'), '1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessError);
    expect(err).toMatchObject({ code: 'ELOOP' });
    expect(w.inFlight()).toEqual([]);
  });

  it('independent writes overlap: one blocked write does not hold the next', async () => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'blocked');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const file = path.join(dir, 'reset');
    fs.writeFileSync(file, '');
    const w = writer();
    const blocked = w.write(fifo, '1');
    blocked.catch(() => {});
    await w.write(file, '1');
    expect(w.inFlight()).toEqual([{ path: fifo, value: '1', forMs: expect.any(Number) }]);
  });

  /**
   * A real blocking write: a FIFO without a reader holds open(2) in the helper as a dead function's
   * `reset` holds write(2) in pci_dev_wait(). The agent's side stays free, close() lets the write go
   * and names it, and the helper is gone after (a FIFO wait, unlike the kernel's, is interruptible).
   */
  it('a write that blocks stays in the helper; close() names it, kills the helper and never settles it', async () => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'reset');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const w = writer();
    let settled = false;
    void w.write(fifo, '1').then(
      () => (settled = true),
      () => (settled = true),
    );
    await until(() => w.pid !== null, 'the helper to start');
    const pid = w.pid!;
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    const left = w.close();
    expect(left).toEqual([{ path: fifo, value: '1', forMs: expect.any(Number) }]);
    await until(() => !alive(pid) || isZombie(pid), 'the helper to die');
    await new Promise((r) => setTimeout(r, 50));
    // Unsettled on purpose: kernel.ts must not put reset_method back under a reset still running.
    expect(settled).toBe(false);
    await expect(w.write(fifo, '1')).rejects.toMatchObject({ code: 'ECANCELED' });
  });

  it('a helper that dies fails what it held, by path, without a hang', async () => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'reset');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const w = writer();
    const p = w.write(fifo, '1');
    await until(() => w.pid !== null, 'the helper to start');
    await new Promise((r) => setTimeout(r, 100));
    process.kill(w.pid!, 'SIGKILL');
    await expect(p).rejects.toMatchObject({ code: 'EIO', path: fifo });
    await expect(p).rejects.toThrow(/the helper process ended \(SIGKILL\); whether the kernel took it is unknown/);
  });
});

function isZombie(pid: number): boolean {
  try {
    return /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
