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
  /** Started with the agent, stopped when it has exited: something that changes the tree during the run. */
  during?: (root: string, fn: string) => () => void;
  /** After the run: a problem to report (the run wrote outside the root), or null. */
  check?: (root: string, fn: string) => string | null;
  /** Undo what the kind set up outside the tree (a mount), after the run. */
  cleanup?: (root: string, fn: string) => void;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/**
 * The function's directory moved onto an ext4 image mounted in its place, then frozen (FIFREEZE): every
 * write to a file there sleeps in the kernel (sb_start_write(), uninterruptibly, until thawed), as a
 * `reset` write to a dead function sleeps in pci_dev_wait(). A real blocking write to a regular file, which
 * the agent's checks accept. Needs root and loop devices; thawed and unmounted after the run.
 */
function frozenFunction(_root: string, fn: string): void {
  const img = `${fn}.img`;
  const stage = `${fn}.stage`;
  run('truncate', ['-s', '8M', img]);
  run('mkfs.ext4', ['-q', '-F', img]);
  fs.mkdirSync(stage);
  run('mount', ['-o', 'loop', img, stage]);
  run('cp', ['-a', `${fn}/.`, stage]);
  run('umount', [stage]);
  fs.rmdirSync(stage);
  run('mount', ['-o', 'loop', img, fn]);
  run('fsfreeze', ['-f', fn]);
}

function thaw(_root: string, fn: string): void {
  spawnSync('fsfreeze', ['-u', fn]);
  spawnSync('umount', ['-l', fn]);
  fs.rmSync(`${fn}.img`, { force: true });
}

/** A quirk entry that makes the target's step `kernel:<its first reset method>`: the run writes reset_method. */
function preferKernelMethod(root: string, fn: string): void {
  const id = (f: string): string => fs.readFileSync(path.join(fn, f), 'utf8').trim().replace(/^0x/, '');
  const method = fs.readFileSync(path.join(fn, 'reset_method'), 'utf8').trim().split(/\s+/)[0];
  const dir = path.join(root, 'etc/pci-reset-agent/quirks.d');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'bench.quirks'), `${id('vendor')}:${id('device')}  prefer=kernel:${method}  reason="bench: make the run write reset_method"\n`);
}

/** Every file under `dir` with its content (to show nothing outside the root changed). */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out.push(`${p} -> ${fs.readlinkSync(p)}`);
      else if (e.isFile()) out.push(`${p} ${fs.readFileSync(p).toString('base64')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

/**
 * The target function's directory swapped for a link to an outside copy and back, every 2 ms, for the
 * whole run (a swap after the scan, or during it). Nothing outside may change.
 */
const swapState = new Map<string, { outside: string; before: string }>();
function swapDuring(root: string, fn: string): () => void {
  const parent = fn;
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-outside-'));
  const copy = path.join(outside, path.basename(parent));
  fs.cpSync(parent, copy, { recursive: true, verbatimSymlinks: true });
  swapState.set(root, { outside, before: snapshot(outside) });
  const aside = `${parent}.aside`;
  let swapped = false;
  const timer = setInterval(() => {
    try {
      if (!swapped) {
        fs.renameSync(parent, aside);
        fs.symlinkSync(copy, parent);
      } else {
        fs.unlinkSync(parent);
        fs.renameSync(aside, parent);
      }
      swapped = !swapped;
    } catch {
      // a step in between: try again next tick
    }
  }, 2);
  return () => {
    clearInterval(timer);
    if (swapped) {
      fs.unlinkSync(parent);
      fs.renameSync(aside, parent);
    }
  };
}
function swapCheck(root: string): string | null {
  const s = swapState.get(root);
  if (!s) return null;
  swapState.delete(root);
  const changed = snapshot(s.outside) !== s.before;
  fs.rmSync(s.outside, { recursive: true, force: true });
  return changed ? 'a file outside the root changed' : null;
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
const KMSG_ARG = 'hostile-kmsg';

/** Where each hostile input is, in the tree (or on the command line, `--kmsg FILE`). */
const PLACES: { name: string; at: (how: (p: string) => void) => Mutate; args?: Kind['args'] }[] = [
  { name: 'config', at: (how) => inFn('config', how) },
  { name: 'vendor', at: (how) => inFn('vendor', how) },
  { name: 'reset_method', at: (how) => inFn('reset_method', how) },
  { name: 'ACPI DMAR', at: (how) => at(DMAR, how) },
  { name: 'proc/cmdline', at: (how) => at('proc/cmdline', how) },
  { name: 'proc/sys/kernel/osrelease', at: (how) => at('proc/sys/kernel/osrelease', how) },
  { name: 'run/pci-reset-agent/apply.lock', at: (how) => at('run/pci-reset-agent/apply.lock', how) },
  { name: '--kmsg FILE', at: (how) => at(KMSG_ARG, how), args: (root) => ['--kmsg', path.join(root, KMSG_ARG)] },
  { name: 'dev/kmsg', at: (how) => at('dev/kmsg', how) },
  { name: 'quirk table in quirks.d', at: (how) => at(QUIRKS, how) },
];
const SHAPES: { name: string; how: (p: string) => void }[] = [
  { name: 'FIFO', how: fifo },
  { name: '/dev/zero-like node (1:5)', how: zero },
  { name: '1 GB sparse file', how: huge },
];

/** Every kind of hostile input that a whole `apply` run meets. */
export const KINDS: Kind[] = [
  { name: 'none (the server example, a capture kernel)', mutate: () => {} },
  ...SHAPES.flatMap((shape) => PLACES.map((place) => ({ name: `${shape.name}: ${place.name}`, mutate: place.at(shape.how), ...(place.args ? { args: place.args } : {}) }))),
  {
    name: "dev/kmsg a link to a function's config",
    mutate: (root, fn) => {
      fs.mkdirSync(path.join(root, 'dev'), { recursive: true });
      fs.symlinkSync(path.relative(path.join(root, 'dev'), path.join(fn, 'config')), path.join(root, 'dev/kmsg'));
    },
  },
  { name: 'FIFO: reset (refused by kind before any write)', mutate: inFn('reset', fifo) },
  { name: 'reset: a write that blocks in the kernel (frozen filesystem)', mutate: frozenFunction, cleanup: thaw },
  {
    name: 'reset_method: a write that blocks in the kernel (frozen filesystem, kernel:<m> step)',
    mutate: (root, fn) => {
      preferKernelMethod(root, fn);
      frozenFunction(root, fn);
    },
    cleanup: thaw,
  },
  {
    name: 'sys/bus a link loop (no PCI listing)',
    mutate: (root) => {
      fs.rmSync(path.join(root, 'sys/bus'), { recursive: true, force: true });
      fs.symlinkSync('bus', path.join(root, 'sys/bus'));
    },
  },
  { name: 'no sys/bus/pci/devices', mutate: (root) => fs.rmSync(path.join(root, 'sys/bus/pci/devices'), { recursive: true, force: true }) },
  { name: "the target's directory swapped for a link to an outside copy and back every 2 ms, all run long", mutate: () => {}, during: swapDuring, check: swapCheck },
  // Issue 11, items 14-16: the smaller kinds, each in a whole run too.
  { name: 'quirk table of 150,000 valid entries in quirks.d (over the entry cap: refused, built-in table)', mutate: (root) => writeAt(root, QUIRKS, manyQuirks(150_000)) },
  { name: 'quirk table of 20,000 valid entries in quirks.d (the entry cap: loaded)', mutate: (root) => writeAt(root, QUIRKS, manyQuirks(20_000)) },
  { name: 'quirk table with one 33 MB line in quirks.d', mutate: (root) => writeAt(root, QUIRKS, `1234:0001 reason="${'x'.repeat(33 * 1024 * 1024)}"\n`) },
  { name: 'a listing link into a non-UTF-8 (\\xff) directory, a decoy at its lossy spelling', mutate: nonUtf8Listing },
  { name: 'driver -> driver (a self-link) on the target', mutate: (_root, fn) => {
    fs.rmSync(path.join(fn, 'driver'), { force: true, recursive: true });
    fs.symlinkSync('driver', path.join(fn, 'driver'));
  } },
];

function writeAt(root: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

/** Valid `vendor:device no_pm` lines for devices no machine has (test/quirks/load.test.ts, item 14). */
function manyQuirks(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${(0x1000 + Math.floor(i / 0x10000)).toString(16)}:${(i % 0x10000).toString(16).padStart(4, '0')} no_pm reason="r"`);
  return `${lines.join('\n')}\n`;
}

/**
 * A listing entry 0000:7f:00.0 whose link leads into a directory named by the byte 0xff, holding a copy of
 * the target function, and a decoy (vendor 0xdead) at the name a lossy decoding gives it, U+FFFD
 * (test/access/hostile-files.test.ts, item 15).
 */
function nonUtf8Listing(root: string, fn: string): void {
  const enc = (t: string): Buffer => Buffer.from(t);
  const real = Buffer.concat([enc(`${root}/sys/devices/`), Buffer.from([0xff]), enc('/0000:7f:00.0')]);
  const decoy = path.join(root, 'sys/devices/\ufffd/0000:7f:00.0');
  fs.mkdirSync(real, { recursive: true });
  fs.mkdirSync(decoy, { recursive: true });
  for (const f of ['vendor', 'device', 'class', 'config']) {
    fs.writeFileSync(Buffer.concat([real, enc(`/${f}`)]), fs.readFileSync(path.join(fn, f)));
    fs.writeFileSync(path.join(decoy, f), fs.readFileSync(path.join(fn, f)));
  }
  fs.writeFileSync(path.join(decoy, 'vendor'), '0xdead\n');
  fs.symlinkSync(Buffer.concat([enc('../../../devices/'), Buffer.from([0xff]), enc('/0000:7f:00.0')]), path.join(root, 'sys/bus/pci/devices/0000:7f:00.0'));
}

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
  /** Helper processes the run left alive 1 s after it exited (held by the kernel: a frozen filesystem). */
  helpersLeft: number;
  /** When the report was made, from the process's start (its durationMs). */
  reportAtMs: number | null;
  /** Writes the report lists as still in the kernel. */
  stillInKernel: number;
  /** What the kind's own check found wrong (a file outside the root changed), or null. */
  problem: string | null;
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
  const before = helperPids();
  try {
    return await runPrepared(kind, root, fn, before);
  } finally {
    kind.cleanup?.(root, fn);
    // Helpers held by the kernel until the thaw above die now; any other is killed.
    for (const p of [...helperPids()].filter((x) => !before.has(x))) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

async function runPrepared(kind: Kind, root: string, fn: string, before: Set<number>): Promise<HostileRun> {
  kind.mutate(root, fn);
  const args = ['--max-semi-space-size=1', BIN, 'apply', '--root', root, '--deadline', String(HOSTILE_DEADLINE_MS), '--no-registers', '--json', ...(kind.args?.(root) ?? [])];
  const start = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const stopDuring = kind.during?.(root, fn);
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
  stopDuring?.();
  clearInterval(sampler);
  clearTimeout(killer);
  let ok = 0;
  let notOk = 0;
  let report = false;
  let stillInKernel = 0;
  let reportAtMs: number | null = null;
  try {
    const r = JSON.parse(fs.readFileSync(path.join(root, 'run/pci-reset-agent/report.json'), 'utf8')) as { steps: { status: string }[]; stillInKernel?: unknown[]; durationMs?: number };
    report = true;
    reportAtMs = r.durationMs ?? null;
    ok = r.steps.filter((s) => s.status === 'ok').length;
    notOk = r.steps.length - ok;
    stillInKernel = r.stillInKernel?.length ?? 0;
  } catch {
    // no report (or not readable): counted as none
  }
  const problem = kind.check?.(root, fn) ?? null;
  await new Promise((r) => setTimeout(r, 1000));
  const left = [...helperPids()].filter((p) => !before.has(p));
  return { kind: kind.name, exitMs, killed, status, peakRssMb: peak, report, reportAtMs, ok, notOk, helpersLeft: left.length, stillInKernel, problem };
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
    `| hostile input | exit (ms) | past the deadline (ms) | peak RSS (MB) | status | report (at ms) | steps ok / not ok | still in kernel | helper left | within ${HOSTILE_DEADLINE_MS} + ${HOSTILE_MARGIN_MS} ms, < ${HOSTILE_RSS_MB} MB, report |`,
    '|---|---:|---:|---:|---|---|---|---|---|---|',
  ];
  const overruns: string[] = [];
  // HOSTILE_ONLY=regex: the kinds whose name matches (to re-run a few after a fix).
  const only = process.env.HOSTILE_ONLY ? new RegExp(process.env.HOSTILE_ONLY) : null;
  for (const kind of KINDS.filter((k) => only === null || only.test(k.name))) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-hostile-'));
    try {
      const r = await runHostile(kind, dir);
      const pass = !r.killed && r.exitMs <= HOSTILE_DEADLINE_MS + HOSTILE_MARGIN_MS && r.peakRssMb < HOSTILE_RSS_MB && r.report && r.problem === null;
      if (!pass) overruns.push(kind.name);
      rows.push(
        `| ${kind.name} | ${r.killed ? `> ${KILL_AFTER_MS} (killed)` : r.exitMs.toFixed(0)} | ${(r.exitMs - HOSTILE_DEADLINE_MS).toFixed(0)} | ${r.peakRssMb.toFixed(0)} | ${r.status ?? '-'} | ${r.report ? `yes (${r.reportAtMs?.toFixed(0) ?? '?'})` : 'no'} | ${r.report ? `${r.ok} / ${r.notOk}` : '-'} | ${r.stillInKernel} | ${r.helpersLeft} | ${pass ? 'yes' : `**no**${r.problem ? ` (${r.problem})` : ''}`} |`,
      );
    } catch (err) {
      overruns.push(kind.name);
      rows.push(`| ${kind.name} | (not run: ${(err as Error).message}) | | | | | | | | **no** |`);
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
