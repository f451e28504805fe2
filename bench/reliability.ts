import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serverTree } from '../src/mock/examples/server.js';

/** The compiled tree (dist/) this module runs from, and the repository above it. */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(HERE, '..');
const REPO = path.resolve(DIST, '..');

/**
 * The child process: `apply --simulate` in real time through runApply() (what the CLI runs), every
 * function made never to answer again after its reset, then exit the way bin.ts does. It prints one
 * JSON line: the run's own duration and the report's counts.
 */
const CHILD = `
import { runApply } from ${JSON.stringify(pathToFileURL(path.join(DIST, 'src/apply/run-apply.js')).href)};
import { setRunOrigin } from ${JSON.stringify(pathToFileURL(path.join(DIST, 'src/apply/deadline.js')).href)};
// As bin.ts does: the deadline counts from the process's start.
setRunOrigin(0);
import { exitWhenDone } from ${JSON.stringify(pathToFileURL(path.join(DIST, 'src/cli/exit-when-done.js')).href)};
const [root, deadline, ready] = process.argv.slice(2);
const t0 = performance.now();
let json = '';
const code = await runApply({
  root, quirks: [], only: [], exclude: [], waveSize: '32', json: true, registers: false,
  deadline: Number(deadline), readyTimeout: Number(ready), force: [], simulate: true, assumeCaptureKernel: true,
  simulatorHook: (sim) => { for (const f of sim.functions) sim.behave(f.bdf, { neverReady: true }); },
}, { out: (s) => { json += s; }, err: () => {} });
const r = JSON.parse(json);
const count = (st) => r.steps.filter((s) => s.status === st).length;
process.stdout.write(JSON.stringify({ code, runMs: performance.now() - t0, reportMs: r.durationMs, steps: r.steps.length, ok: count('ok'), failed: count('failed'), abandoned: count('abandoned'), stuck: r.problems.some((p) => p.includes('still blocked in the kernel')) }) + '\\n');
exitWhenDone(code);
`;

interface ExitRun {
  wallMs: number;
  runMs: number;
  steps: number;
  ok: number;
  failed: number;
  abandoned: number;
  stuck: boolean;
  code: number;
}

function runChild(script: string, root: string, deadline: number, ready: number): Promise<ExitRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [script, root, String(deadline), String(ready)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      const wallMs = performance.now() - start;
      try {
        resolve({ wallMs, ...(JSON.parse(out.trim().split('\n').at(-1)!) as Omit<ExitRun, 'wallMs'>) });
      } catch {
        reject(new Error(`child printed ${JSON.stringify(out.slice(0, 200))}; stderr ${err.slice(0, 400)}`));
      }
    });
  });
}

/**
 * The worst-case exit time against the deadline: `apply --simulate` in real time on the server example
 * (as a capture kernel), every function never answering after its reset, so every step waits until the
 * deadline (ready timeout 60 s, the kernel's own limit) or its own limit (the default 10 s), and every
 * `reset` write the kernel performs stays blocked (the simulated kernel polls a dead function 60 s).
 * Wall time is from spawning Node to the process having exited: Node start-up, planning and the
 * lingering after the report included.
 */
async function exitTimes(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-rel-'));
  try {
    const root = serverTree().file('proc/vmcore', '').write(path.join(dir, 'root'));
    const script = path.join(dir, 'child.mjs');
    fs.writeFileSync(script, CHILD);
    const quick = process.env.BENCH_QUICK === '1';
    const cases: { deadline: number; ready: number; runs: number }[] = [
      { deadline: 1000, ready: 60000, runs: quick ? 1 : 5 },
      { deadline: 5000, ready: 60000, runs: quick ? 1 : 3 },
      { deadline: 30000, ready: 60000, runs: 1 },
      { deadline: 30000, ready: 10000, runs: 1 },
    ];
    const rows = [
      '| deadline | ready timeout | runs | exit time, worst (ms) | past the deadline, worst (ms) | run itself (ms) | steps: ok / failed / abandoned | writes left in the kernel | exit status |',
      '|---|---|---|---|---|---|---|---|---|',
    ];
    for (const c of cases) {
      if (quick && c.deadline === 30000) continue;
      const runs: ExitRun[] = [];
      for (let i = 0; i < c.runs; i++) runs.push(await runChild(script, root, c.deadline, c.ready));
      const worst = runs.reduce((a, b) => (b.wallMs > a.wallMs ? b : a));
      rows.push(
        `| ${c.deadline / 1000} s | ${c.ready / 1000} s | ${c.runs} | ${worst.wallMs.toFixed(0)} | ${(worst.wallMs - c.deadline).toFixed(0)} | ${worst.runMs.toFixed(0)} | ${worst.ok} / ${worst.failed} / ${worst.abandoned} of ${worst.steps} | ${worst.stuck ? 'yes' : 'no'} | ${worst.code} |`,
      );
    }
    return `${rows.join('\n')}\n\n"Run itself" is runApply() from its start to the report (scan, IOMMU verdict, plan, execution, the 250 ms grace for writes blocked in the kernel); the exit time adds Node start-up and module loading before it, and up to 200 ms of lingering after it (exit-when-done.ts) when something is still pending. The deadline counts from the process's start (as bin.ts sets it), so Node's start-up is inside it.\n`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Inputs per fuzz target and how long they took: the fuzz suite and the fault sweeps run once through
 * vitest with FUZZ_SCALE (BENCH_FUZZ_SCALE, default 1: the quick run of `npm test`; `npm run fuzz` uses 50),
 * each target recording its count and time (FUZZ_REPORT).
 */
async function fuzzThroughput(): Promise<string> {
  const scale = process.env.BENCH_FUZZ_SCALE ?? '1';
  const reportFile = path.join(os.tmpdir(), `pra-fuzz-report-${process.pid}.jsonl`);
  fs.rmSync(reportFile, { force: true });
  const vitest = path.join(REPO, 'node_modules/vitest/vitest.mjs');
  if (!fs.existsSync(vitest)) return '(not run: vitest is not installed next to the build)';
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [vitest, 'run', 'test/fuzz', 'test/apply/every-io-fails.test.ts', '--testTimeout=3600000'], {
      cwd: REPO,
      env: { ...process.env, FUZZ_SCALE: scale, FUZZ_REPORT: reportFile },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (!fs.existsSync(reportFile)) return `(not run: vitest exited ${code} without a report)`;
  const lines = fs.readFileSync(reportFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { target: string; inputs: number; ms: number });
  fs.rmSync(reportFile, { force: true });
  const rows = ['| target | inputs | time (ms) | inputs / s |', '|---|---|---|---|'];
  for (const l of lines) rows.push(`| ${l.target} | ${l.inputs} | ${l.ms} | ${(l.inputs / (l.ms / 1000)).toFixed(0)} |`);
  const total = lines.reduce((a, l) => ({ inputs: a.inputs + l.inputs, ms: a.ms + l.ms }), { inputs: 0, ms: 0 });
  rows.push(`| **all** | ${total.inputs} | ${total.ms} | |`);
  return `FUZZ_SCALE=${scale}${code === 0 ? '' : ` (vitest exited ${code}: some target failed)`}. An "apply faults" input is one run of the scenario's plan with one fault; an "apply deadline" input one run with the deadline at one instant.\n\n${rows.join('\n')}\n`;
}

export async function benchReliability(): Promise<string> {
  const exit = await exitTimes();
  const fuzz = process.env.BENCH_SKIP_FUZZ === '1' ? '(skipped: BENCH_SKIP_FUZZ=1)' : await fuzzThroughput();
  return `Worst-case exit time against the deadline (real time, every function dead after its reset):\n\n${exit}\nFuzz inputs per target:\n\n${fuzz}`;
}
