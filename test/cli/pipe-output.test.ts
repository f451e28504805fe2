import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatedTree } from '../../src/mock/examples/generated.js';
import { builtCli } from '../helpers/run-built.js';

/**
 * Issue 16: a large JSON document to a pipe whose reader is slow must arrive whole. Node queues what a
 * pipe does not take at once (stdout to a pipe is non-blocking on Linux), and the CLI used to leave
 * LINGER_MS after its work whatever was still queued: a 2.9 MB `plan --json` arrived as its first 219 KB.
 * The reader here is slow on purpose (a stimulus, not a timed assertion: the check is only that every
 * byte arrives and parses).
 */
describe('JSON to a slow pipe', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-pipe-'));
  const root = path.join(dir, 'tree');
  generatedTree(1500).write(root);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Read the child's stdout slowly: after every chunk taken (at most 64 KiB), 100 ms before the next. */
  const slowRead = (args: string[]): Promise<{ code: number | null; out: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [builtCli(), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => {
        chunks.push(d);
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 100);
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out: Buffer.concat(chunks).toString('utf8') }));
    });

  it('plan --json: the whole document arrives', async () => {
    const r = await slowRead(['plan', '--root', root, '--json']);
    expect(r.code).toBe(0);
    expect(r.out.length).toBeGreaterThan(256 * 1024);
    const plan = JSON.parse(r.out) as { steps: unknown[] };
    expect(plan.steps.length).toBeGreaterThan(100);
  }, 120_000);

  it('apply --simulate --json: the whole report arrives', async () => {
    const r = await slowRead(['apply', '--simulate', '--virtual-time', '--assume-capture-kernel', '--root', root, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { steps: unknown[] };
    expect(report.steps.length).toBeGreaterThan(100);
  }, 120_000);
});
