import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { O_PATH } from '../native-bindings/fs-at.js';
import { serverTree } from '../src/mock/examples/server.js';

/** The compiled tree (dist/) this module runs from. */
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(DIST, 'src/cli/bin.js');

/** What `apply --deadline` is given, and the margin past it the row accepts (exit time, ms). */
export const HOSTILE_DEADLINE_MS = 2000;
export const HOSTILE_MARGIN_MS = 500;
/** Peak RSS a capture kernel can afford for the agent (MB). */
export const HOSTILE_RSS_MB = 120;
/** A run still alive this long after its start is killed and reported as a hang (ms). */
const KILL_AFTER_MS = 15000;

type Mutate = (root: string, fn: string) => void;

interface Kind {
  name: string;
  mutate: Mutate;
  /** Extra arguments (`--kmsg FILE`, `--quirks FILE`). */
  args?: (root: string) => string[];
}

function fifo(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.rmSync(p, { force: true, recursive: true });
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo ${p} failed`);
}

/** A character device like /dev/zero (1:5): reads never end. Needs root (mknod). */
function zero(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.rmSync(p, { force: true, recursive: true });
  const r = spawnSync('mknod', [p, 'c', '1', '5']);
  if (r.status !== 0) throw new Error(`mknod ${p} failed (root needed)`);
}

/** A 1 GB sparse regular file (reads return zeros, the disk holds nothing). */
function huge(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.rmSync(p, { force: true, recursive: true });
  const fd = fs.openSync(p, 'w');
  fs.ftruncateSync(fd, 1 << 30);
  fs.closeSync(fd);
}

const inFn = (name: string, how: (p: string) => void): Mutate => (_root, fn) => how(path.join(fn, name));
const at = (rel: string, how: (p: string) => void): Mutate => (root) => how(path.join(root, rel));

const DMAR = 'sys/firmware/acpi/tables/DMAR';
const QUIRKS = 'etc/pci-reset-agent/quirks.d/hostile.quirks';

/** Every hostile kind of input issue 11 lists that a whole `apply` run meets. */
export const KINDS: Kind[] = [
  { name: 'none (the server example, a capture kernel)', mutate: () => {} },
  { name: 'FIFO: config', mutate: inFn('config', fifo) },
  { name: 'FIFO: vendor', mutate: inFn('vendor', fifo) },
  { name: 'FIFO: reset_method', mutate: inFn('reset_method', fifo) },
  { name: 'FIFO: reset (a write that blocks)', mutate: inFn('reset', fifo) },
  { name: 'FIFO: ACPI DMAR', mutate: at(DMAR, fifo) },
  { name: 'FIFO: proc/cmdline', mutate: at('proc/cmdline', fifo) },
  { name: 'FIFO: proc/sys/kernel/osrelease', mutate: at('proc/sys/kernel/osrelease', fifo) },
  { name: 'FIFO: run/pci-reset-agent/apply.lock', mutate: at('run/pci-reset-agent/apply.lock', fifo) },
  { name: 'FIFO: dev/kmsg', mutate: at('dev/kmsg', fifo) },
  { name: 'FIFO: --kmsg FILE', mutate: at('hostile-kmsg', fifo), args: (root) => ['--kmsg', path.join(root, 'hostile-kmsg')] },
  { name: 'FIFO: quirk table in quirks.d', mutate: at(QUIRKS, fifo) },
  { name: '/dev/zero-like node: vendor', mutate: inFn('vendor', zero) },
  { name: '/dev/zero-like node: reset_method', mutate: inFn('reset_method', zero) },
  { name: '/dev/zero-like node: ACPI DMAR', mutate: at(DMAR, zero) },
  { name: '/dev/zero-like node: proc/cmdline', mutate: at('proc/cmdline', zero) },
  { name: '1 GB sparse: vendor', mutate: inFn('vendor', huge) },
  { name: '1 GB sparse: reset_method', mutate: inFn('reset_method', huge) },
  { name: '1 GB sparse: ACPI DMAR', mutate: at(DMAR, huge) },
  { name: '1 GB sparse: proc/cmdline', mutate: at('proc/cmdline', huge) },
  { name: '1 GB sparse: dev/kmsg', mutate: at('dev/kmsg', huge) },
  { name: '1 GB sparse: quirk table in quirks.d', mutate: at(QUIRKS, huge) },
  {
    name: "dev/kmsg a link to a function's config",
    mutate: (root, fn) => {
      fs.mkdirSync(path.join(root, 'dev'), { recursive: true });
      fs.symlinkSync(path.relative(path.join(root, 'dev'), path.join(fn, 'config')), path.join(root, 'dev/kmsg'));
    },
  },
  {
    name: 'sys/bus a link loop (no PCI listing)',
    mutate: (root) => {
      fs.rmSync(path.join(root, 'sys/bus'), { recursive: true, force: true });
      fs.symlinkSync('bus', path.join(root, 'sys/bus'));
    },
  },
  { name: 'no sys/bus/pci/devices', mutate: (root) => fs.rmSync(path.join(root, 'sys/bus/pci/devices'), { recursive: true, force: true }) },
];

export interface HostileRun {
  kind: string;
  /** Spawn to exit (ms). */
  exitMs: number;
  /** Killed after KILL_AFTER_MS: the run hung. */
  killed: boolean;
  status: number | null;
  /** Peak resident set of the agent's process (VmHWM, sampled every 5 ms; MB). */
  peakRssMb: number;
  report: boolean;
  /** Steps ok / not ok in the report. */
  ok: number;
  notOk: number;
  /** Helper processes the run left alive 1 s after it exited. */
  helpersLeft: number;
}

/** A function that has every attribute the kinds replace (config, vendor, reset, reset_method). */
function targetFunction(root: string): string {
  const list = path.join(root, 'sys/bus/pci/devices');
  for (const name of fs.readdirSync(list).sort()) {
    const dir = fs.realpathSync(path.join(list, name));
    if (['reset', 'reset_method', 'vendor', 'config'].every((f) => fs.existsSync(path.join(dir, f)))) return dir;
  }
  throw new Error('no function with reset and reset_method in the server example');
}

function vmHwmMb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Processes whose command line holds the helper's program (src/apply/kernel-writer/child-source.ts). */
function helperPids(): Set<number> {
  const out = new Set<number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes("process.on('disconnect'")) out.add(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** One `apply --deadline 2000` of the built CLI, as its own process, on a tree with one hostile input. */
export async function runHostile(kind: Kind, workDir: string): Promise<HostileRun> {
  const root = serverTree().file('proc/vmcore', '').file('proc/sys/kernel/osrelease', '6.1.0-26-amd64\n').write(path.join(workDir, 'root'));
  const fn = targetFunction(root);
  kind.mutate(root, fn);
  const before = helperPids();
  const args = ['--max-semi-space-size=1', BIN, 'apply', '--root', root, '--deadline', String(HOSTILE_DEADLINE_MS), '--no-registers', '--json', ...(kind.args?.(root) ?? [])];
  const start = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  let peak = 0;
  const sampler = setInterval(() => {
    const mb = vmHwmMb(child.pid!);
    if (mb !== null) peak = Math.max(peak, mb);
  }, 5);
  let killed = false;
  const killer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, KILL_AFTER_MS);
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const exitMs = performance.now() - start;
  clearInterval(sampler);
  clearTimeout(killer);
  let ok = 0;
  let notOk = 0;
  let report = false;
  try {
    const r = JSON.parse(fs.readFileSync(path.join(root, 'run/pci-reset-agent/report.json'), 'utf8')) as { steps: { status: string }[] };
    report = true;
    ok = r.steps.filter((s) => s.status === 'ok').length;
    notOk = r.steps.length - ok;
  } catch {
    // no report (or not readable): counted as none
  }
  await new Promise((r) => setTimeout(r, 1000));
  const left = [...helperPids()].filter((p) => !before.has(p));
  for (const p of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return { kind: kind.name, exitMs, killed, status, peakRssMb: peak, report, ok, notOk, helpersLeft: left.length };
}

/** The helper process's own cost: spawn to its first message, and its resident set then. */
async function helperCost(runs: number): Promise<{ readyMs: number[]; rssMb: number[] }> {
  const { KernelWriter } = (await import(pathToFileURL(path.join(DIST, 'src/apply/kernel-writer/kernel-writer.js')).href)) as typeof import('../src/apply/kernel-writer/kernel-writer.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-helper-'));
  const file = path.join(dir, 'reset');
  fs.writeFileSync(file, '');
  const readyMs: number[] = [];
  const rssMb: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const w = new KernelWriter();
      const t = performance.now();
      await w.write({ fd: fs.openSync(file, O_PATH), path: file }, '1');
      readyMs.push(performance.now() - t);
      rssMb.push(vmHwmMb(w.pid!) ?? NaN);
      w.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { readyMs, rssMb };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchHostile(): Promise<string> {
  const rows = [
    `| hostile input | exit (ms) | past the deadline (ms) | peak RSS (MB) | status | report | steps ok / not ok | helper left | within ${HOSTILE_DEADLINE_MS} + ${HOSTILE_MARGIN_MS} ms, < ${HOSTILE_RSS_MB} MB, report |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const overruns: string[] = [];
  for (const kind of KINDS) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-hostile-'));
    try {
      const r = await runHostile(kind, dir);
      const pass = !r.killed && r.exitMs <= HOSTILE_DEADLINE_MS + HOSTILE_MARGIN_MS && r.peakRssMb < HOSTILE_RSS_MB && r.report;
      if (!pass) overruns.push(kind.name);
      rows.push(
        `| ${kind.name} | ${r.killed ? `> ${KILL_AFTER_MS} (killed)` : r.exitMs.toFixed(0)} | ${(r.exitMs - HOSTILE_DEADLINE_MS).toFixed(0)} | ${r.peakRssMb.toFixed(0)} | ${r.status ?? '-'} | ${r.report ? 'yes' : 'no'} | ${r.report ? `${r.ok} / ${r.notOk}` : '-'} | ${r.helpersLeft} | ${pass ? 'yes' : '**no**'} |`,
      );
    } catch (err) {
      overruns.push(kind.name);
      rows.push(`| ${kind.name} | (not run: ${(err as Error).message}) | | | | | | | **no** |`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const cost = await helperCost(process.env.BENCH_QUICK === '1' ? 3 : 10);
  return [
    `\`apply --deadline ${HOSTILE_DEADLINE_MS} --no-registers --json\` of the built CLI (\`node --max-semi-space-size=1 dist/src/cli/bin.js\`, as the kdump runner starts it) on the server example made a capture kernel, with one hostile input each. Exit is from spawn to the process's exit (Node's start-up included); peak RSS is the agent's VmHWM sampled every 5 ms; "helper left" counts helper processes alive 1 s after the agent exited. A run alive after ${KILL_AFTER_MS / 1000} s is killed.`,
    '',
    rows.join('\n'),
    '',
    overruns.length ? `Over the bound: ${overruns.join('; ')}.` : 'Every kind within the bound.',
    '',
    `The helper process for kernel writes (src/apply/kernel-writer/), ${cost.readyMs.length} starts: first write answered after ${median(cost.readyMs).toFixed(0)} ms median (max ${Math.max(...cost.readyMs).toFixed(0)}), its peak RSS ${median(cost.rssMb).toFixed(1)} MB median.`,
    '',
  ].join('\n');
}

// `node dist/bench/hostile.js`: this section alone (to re-run after a fix).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchHostile().then((t) => process.stdout.write(`${t}\n`));
}
