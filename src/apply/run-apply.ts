import * as fs from 'node:fs';
import { jsonText } from '../cli/json-out.js';
import { textBlock } from '../text/escape.js';
import { wrap } from '../text/wrap.js';
import * as path from 'node:path';
import type { PciAccess } from '../access/access.js';
import type { Root } from '../access/root.js';
import { SysfsAccess } from '../access/sysfs.js';
import { EXIT } from '../errors/exit-codes.js';
import { UserError } from '../errors/user-error.js';
import { setExitBound } from '../cli/exit-when-done.js';
import { gatherPlanInputs, type PlanOptions } from '../pipeline/gather-plan-inputs.js';
import type { ScanResult } from '../scan/scan-result.js';
import { formatBdf, parseBdf } from '../pci/bdf.js';
import { buildPlan } from '../plan/build-plan.js';
import type { PlanStep } from '../plan/plan.js';
import { loadSimulator } from '../simulator/load.js';
import { simulatedVfio } from '../simulator/sim-vfio.js';
import type { PciSimulator } from '../simulator/simulator.js';
import { RealClock, VirtualClock, type Clock } from '../time/clock.js';
import type { ApplyReport, ApplySummary } from './apply-report.js';
import { Deadline, runOrigin } from './deadline.js';
import { ExecTopology } from './exec-topology.js';
import { executePlan } from './execute.js';
import { KernelWriter } from './kernel-writer/kernel-writer.js';
import { guardPlan } from './live-guard.js';
import { LockHeld, RUN_DIR, type LockHandle } from './lock.js';
import { takeLock } from './take-lock.js';
import { writeReportFile } from './report-file.js';
import { createApplyLog, type LogFormat } from './log.js';
import type { VfioBackend } from './methods/vfio-backend.js';
import { renderReport } from './render-report.js';

/**
 * Default deadline for the whole run (ms). A kdump run must end well inside the runner's hard limit
 * (PRA_TIMEOUT 90 s, and systemd's TimeoutStartSec) and leave the dump most of the boot: a typical run
 * is one or two waves of 100 ms to 2 s resets; 30 s is room for a few waves of the slowest legal case
 * (a >5 GT/s port: 1 s of link training, 100 ms, then a device answering with RRS for seconds).
 */
export const DEFAULT_DEADLINE_MS = 30000;
/**
 * Default per-function readiness timeout after the mandated wait (ms). The kernel allows 60 s
 * (PCIE_RESET_READY_POLL_MS); the spec's limit is 1 s unless the function answers RRS. 10 s gives slow
 * RRS devices room and still lets a dead function cost only a third of the deadline.
 */
export const DEFAULT_READY_TIMEOUT_MS = 10000;
/** What the kernel log's last writes leave of the deadline for the agent to leave (ms). */
const KMSG_EXIT_MARGIN_MS = 50;

export interface ApplyOptions extends PlanOptions {
  deadline: number;
  readyTimeout: number;
  allowLive?: boolean;
  force: string[];
  simulate?: boolean;
  virtualTime?: boolean;
  /** --simulate only: rehearse as if this were a capture kernel even without evidence. */
  assumeCaptureKernel?: boolean;
  /**
   * --simulate only, and not a command-line option: adjust the simulator before the run (behaviour of
   * functions, fault rules). What the reliability bench uses to time a run where nothing comes back.
   */
  simulatorHook?: (sim: PciSimulator) => void;
  /**
   * Not a command-line option: called once the plan is made and before anything is locked or written,
   * with the scan the plan came from. The fuzz harness changes the tree there (directories swapped for
   * links), as a hostile system could between the scan and the writes.
   */
  afterPlan?: (scan: ScanResult) => void;
  /** How events are written to stderr: `text` on a terminal, `json` otherwise (the CLI decides). */
  logFormat?: LogFormat;
  /** Least level of event written (pino's: debug, info, warn, error, silent). Default info. */
  logLevel?: string;
  /**
   * Copy events to ROOT/dev/kmsg even without capture-kernel evidence. Without it a live run (refused or
   * --allow-live) writes nothing to the kernel log.
   */
  logKmsg?: boolean;
}

/**
 * Whether events go to the kernel log: only with capture-kernel evidence (the evidence itself, not
 * --assume-capture-kernel, and never in a simulation), or with --log-kmsg. A refused `apply` on a live
 * machine writes nothing there, as exit status 5 promises.
 */
export function wantsKernelLog(o: { simulate: boolean; captureKernel: boolean; logKmsg: boolean }): boolean {
  return !o.simulate && (o.captureKernel || o.logKmsg);
}

export interface ApplyIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** plan, guard, lock, execute, report: the `apply` command. Returns the exit status. */
export async function runApply(opts: ApplyOptions, io: ApplyIo): Promise<number> {
  if (!opts.simulate && opts.virtualTime) throw new UserError('--virtual-time needs --simulate (a real run waits in real time)', EXIT.USAGE);
  if (!opts.simulate && opts.assumeCaptureKernel) throw new UserError('--assume-capture-kernel needs --simulate', EXIT.USAGE);
  const force = opts.force.map((f) => {
    const b = parseBdf(f);
    if (!b) throw new UserError(`--force ${f}: not a PCI address (DDDD:BB:dd.f)`, EXIT.USAGE);
    return formatBdf(b);
  });

  const clock: Clock = opts.simulate && opts.virtualTime ? new VirtualClock() : new RealClock();
  // The deadline bounds the whole process: scan, IOMMU evidence, planning and locking count against it,
  // not only the resets. In real time the run starts when the process did (bin.ts marks it).
  const t0 = clock.virtual ? clock.now() : (runOrigin() ?? clock.now());
  const startedAt = new Date(Date.now() - (clock.now() - t0)).toISOString();
  // The report and the log still queued for a pipe are waited for at exit, but not past the deadline.
  if (!clock.virtual) setExitBound(t0 + opts.deadline);
  // How long the kernel log's helper may still be waited for (kmsg-queue.ts): up to the deadline, less
  // a margin to leave in.
  const kmsgUntil = t0 + opts.deadline - KMSG_EXIT_MARGIN_MS;
  // The helper process for kernel writes (kernel-writer/): in a capture kernel started first thing, so
  // its start-up (tens of ms; far more on a loaded single CPU) overlaps the scan instead of delaying the
  // first reset. Elsewhere on first use. A run that fails before the try below kills it here.
  const writer = opts.simulate ? null : new KernelWriter();
  if (writer && fs.existsSync(path.join(opts.root, 'proc/vmcore'))) writer.start();
  let inputs: Awaited<ReturnType<typeof gatherPlanInputs>>;
  try {
    inputs = await gatherPlanInputs(opts, { tolerateListing: true });
  } catch (err) {
    writer?.close();
    throw err;
  }
  const { root, scan } = inputs;
  for (const f of force) {
    if (!scan.devices.some((d) => d.bdf === f)) throw new UserError(`--force ${f}: no such function under ${opts.root}`, EXIT.USAGE);
  }
  const captureKernel = inputs.iommu.captureKernel || (opts.simulate === true && opts.assumeCaptureKernel === true);
  const plan = buildPlan({ scan, iommu: inputs.iommu, quirks: inputs.quirks, policy: inputs.policy });
  opts.afterPlan?.(scan);

  // The kernel log is the capture kernel's console and dmesg: written only there (or when asked), never by
  // a run that is refused on a live machine. Its last component is not followed (see kmsg-device.ts).
  const kmsgPath = wantsKernelLog({ simulate: opts.simulate === true, captureKernel: inputs.iommu.captureKernel, logKmsg: opts.logKmsg === true }) ? kernelLogPath(root) : null;
  const logs = createApplyLog({ kmsgPath, write: io.err, format: opts.logFormat, level: opts.logLevel, kmsgDevice: opts.kmsgDevice, startedAt: Date.parse(startedAt) });
  const { log } = logs;
  const problems: string[] = [...inputs.problems, ...plan.notes];
  if (inputs.listingProblem !== null) {
    log.error({ event: 'apply.no_listing', error: inputs.listingProblem }, `cannot list PCI functions: ${inputs.listingProblem}`);
  }
  /** A message that must reach the user: through the log, or plainly when the log level hides errors. */
  const tell = (event: object, message: string): void => {
    log.error(event, message);
    if (!log.isLevelEnabled('error')) io.err(textBlock(wrap(`pci-reset-agent: ${message}`, 80, '', '  ')));
  };
  let lock: LockHandle | null = null;
  try {
    log.info(
      { event: 'apply.start', root: opts.root, backend: opts.simulate ? 'simulator' : 'sysfs', captureKernel, iommuCase: plan.iommuCase, steps: plan.steps.length, deadlineMs: opts.deadline },
      `apply: ${plan.steps.length} step(s) planned, IOMMU case ${plan.iommuCase}`,
    );
    const guard = guardPlan(plan, scan, { captureKernel, allowLive: opts.allowLive === true, force });
    if (guard.kind === 'refuse') {
      tell({ event: 'apply.refused', reason: 'live-system' }, guard.message);
      return EXIT.APPLY_REFUSED_LIVE;
    }
    problems.push(...guard.notes);

    if (!opts.simulate) {
      try {
        lock = await takeLock(root);
      } catch (err) {
        if (err instanceof LockHeld) {
          tell({ event: 'apply.locked', pid: err.pid, lock: err.path }, err.message);
          return EXIT.APPLY_LOCKED;
        }
        throw new UserError(`cannot take the lock under ${path.join(opts.root, RUN_DIR)}: ${(err as Error).message}`);
      }
      if (lock.recovered) {
        log.warn({ event: 'lock.recovered', lock: lock.path }, lock.recovered);
        problems.push(lock.recovered);
      }
    }

    let access: PciAccess;
    let vfio: () => Promise<VfioBackend>;
    if (opts.simulate) {
      const sim = loadSimulator(root, { clock });
      opts.simulatorHook?.(sim);
      access = sim;
      vfio = async () => simulatedVfio(sim);
    } else {
      const sysfs = new SysfsAccess(root);
      // Every write to `reset` and `reset_subordinate` goes through the helper process, so that one
      // the kernel holds (up to 60 s for a dead function) cannot keep the agent alive past its report.
      sysfs.kernelWriter = writer;
      // Started now (if not already) when the plan will need it: its start-up overlaps the first saves.
      if (plan.steps.some(usesKernelWrites)) writer!.start();
      access = sysfs;
      let backend: Promise<VfioBackend> | null = null;
      vfio = () => (backend ??= import('../../native-bindings/vfio.js').then((m) => m.createVfio(root, writer!)));
    }
    const result = await executePlan(plan, {
      access,
      clock,
      log,
      topo: new ExecTopology(scan),
      deadline: new Deadline(clock, t0 + opts.deadline),
      readyTimeoutMs: opts.readyTimeout,
      vfio,
    }, { skip: guard.skip, stopDma: captureKernel });
    // Writes still in the kernel: the helper is killed, the kernel finishes them on its own. Their steps
    // are reported failed or abandoned (never ok), and each write is named.
    const inFlight = writer?.close() ?? [];
    // The steps' events reach the kernel log before the report is made (so what it did not get is in the
    // report), waiting no longer than the deadline allows.
    await logs.flush(kmsgUntil);
    if (result.stuck.length) problems.push(`step(s) ${result.stuck.join(', ')} still blocked in the kernel when the run ended; the agent exits without waiting for them`);
    for (const w of inFlight) {
      problems.push(`${w.path}: the write of ${JSON.stringify(w.value)} was still in the kernel after ${w.forMs} ms when the run ended: let go with its helper process, outcome unknown (the kernel may still finish the reset)`);
    }

    const summary = summarise(result.steps);
    const report: ApplyReport = {
      durationMs: Math.round((clock.now() - t0) * 1000) / 1000,
      steps: result.steps,
      schema: 1,
      startedAt,
      root: opts.root,
      backend: access.name,
      virtualTime: clock.virtual,
      captureKernel,
      live: guard.live,
      iommuCase: plan.iommuCase,
      deadlineMs: opts.deadline,
      deadlineReached: result.deadlineReached,
      readyTimeoutMs: opts.readyTimeout,
      summary,
      exitStatus: EXIT.OK,
      unresettable: plan.unresettable,
      busMasterCleared: result.busMasterCleared,
      busMasterLeftOn: result.busMasterLeftOn,
      excluded: plan.excluded,
      problems,
      stillInKernel: inFlight,
    };
    report.exitStatus = exitStatus(report);
    // Nothing could be planned without the listing: the run did not do its job, whatever else went well.
    if (inputs.listingProblem !== null) {
      report.problems.unshift(inputs.listingProblem);
      if (report.exitStatus === EXIT.OK) report.exitStatus = EXIT.FAILED;
    }
    report.problems.push(...logs.problems);
    if (!opts.simulate) {
      try {
        const file = writeReportFile(root, `${JSON.stringify(report, null, 1)}\n`);
        log.info({ event: 'apply.report', file }, `report written to ${file}`);
      } catch (err) {
        const msg = `cannot write the report under ${path.join(opts.root, RUN_DIR)}: ${(err as Error).message}`;
        log.error({ event: 'apply.report_failed' }, msg);
        report.problems.push(msg);
        if (report.exitStatus === EXIT.OK) report.exitStatus = EXIT.FAILED;
      }
    }
    log[report.exitStatus === EXIT.OK ? 'info' : 'warn'](
      { event: 'apply.end', status: report.exitStatus, durationMs: report.durationMs, ...summary, deadlineReached: report.deadlineReached },
      `apply done: ${summary.ok} ok, ${summary.failed} failed, ${summary.abandoned} abandoned, ${summary.skipped} skipped`,
    );
    io.out(opts.json ? jsonText(report) : renderReport(report));
    return report.exitStatus;
  } finally {
    writer?.close();
    lock?.release();
    await logs.flush(kmsgUntil);
    logs.close();
  }
}

/** ROOT/dev/kmsg with `dev` resolved inside the root and the last component not followed; null when absent. */
function kernelLogPath(root: Root): string | null {
  let host: string;
  try {
    host = root.resolve('dev/kmsg', false);
  } catch {
    return null;
  }
  return fs.lstatSync(host, { throwIfNoEntry: false }) === undefined ? null : host;
}

/** A step whose method, or one of its fallbacks, writes a sysfs file the kernel resets through. */
function usesKernelWrites(step: PlanStep): boolean {
  return [step.method, ...(step.fallbacks ?? [])].some((m) => m === 'bus' || m.startsWith('kernel'));
}

function summarise(steps: ApplyReport['steps']): ApplySummary {
  const count = (s: string): number => steps.filter((x) => x.status === s).length;
  return {
    ok: count('ok'),
    failed: count('failed'),
    abandoned: count('abandoned'),
    skipped: count('skipped'),
    functionsReset: steps.filter((s) => s.status === 'ok').reduce((n, s) => n + s.functions.length, 0),
  };
}

/** Deadline beats partial failure; a register that did not read back is a partial failure too. */
export function exitStatus(r: Pick<ApplyReport, 'deadlineReached' | 'steps'>): number {
  if (r.deadlineReached || r.steps.some((s) => s.status === 'abandoned')) return EXIT.APPLY_DEADLINE;
  if (r.steps.some((s) => s.status === 'failed' || s.restoreMismatches.length > 0)) return EXIT.APPLY_PARTIAL;
  return EXIT.OK;
}
