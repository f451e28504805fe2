import * as R from '../config/registers.js';
import type { Plan } from '../plan/plan.js';
import type { StepReport } from './apply-report.js';
import { neverTouch } from './never-reset.js';
import type { ExecEnv } from './step-context.js';

/**
 * How long the last phase may run past the deadline (ms). It does one read, at most one write and one
 * read-back per function, no retries and no waits; when the budget is gone the functions left are
 * reported, not touched.
 */
export const STOP_DMA_BUDGET_MS = 200;

export interface StopDmaResult {
  /** In-scope functions not reset whose Bus Master Enable reads 0 at the end: no DMA from them. */
  cleared: string[];
  /** In-scope functions not reset whose Bus Master was left as it was, and why. */
  leftOn: { bdf: string; reason: string }[];
}

/** The driver bound now (a driver may have bound since the scan); the scan's when the link cannot be read. */
function driverOf(env: ExecEnv, bdf: string): string | null {
  try {
    const link = env.access.readLink(bdf, 'driver');
    return link === null ? null : link.slice(link.lastIndexOf('/') + 1);
  } catch {
    return env.topo.device(bdf)?.driver ?? null;
  }
}

/**
 * The last phase of a capture-kernel run: every in-scope function that was not reset `ok` (a failed
 * `kernel` or `vfio` step leaves what the kernel restored, Bus Master included; `unresettable` functions
 * are never touched; abandoned steps never ran) gets Command bit 2 cleared, as pci_clear_master() does for
 * every device in the kexec shutdown path: in case 3b its DMA would otherwise land in raw memory. Not a
 * function with a driver bound (the dump target's nvme must keep mastering), nor a bridge with one below
 * it, nor a host bridge or the IOMMU, nor anything a step still blocked in the kernel holds (config access
 * would block behind the kernel's reset).
 */
export function stopDma(plan: Plan, reports: StepReport[], env: ExecEnv, blocked: ReadonlySet<string>): StopDmaResult {
  const { clock, deadline, log } = env;
  const until = Math.max(clock.now(), deadline.at) + STOP_DMA_BUDGET_MS;
  const out: StopDmaResult = { cleared: [], leftOn: [] };
  const stepOf = new Map<string, StepReport>();
  const order: string[] = [];
  for (const r of reports) {
    if (r.status === 'ok') continue;
    for (const f of r.functions) {
      stepOf.set(f, r);
      order.push(f);
    }
  }
  const okFunctions = new Set(reports.filter((r) => r.status === 'ok').flatMap((r) => r.functions));
  for (const u of plan.unresettable) if (!okFunctions.has(u.bdf)) order.push(u.bdf);
  const leave = (bdf: string, reason: string): void => {
    out.leftOn.push({ bdf, reason });
    log.warn({ event: 'apply.bus_master', bdf, result: 'left', reason }, `${bdf}: Bus Master left as it was: ${reason}`);
    stepOf.get(bdf)?.notes.push(`${bdf}: not reset, and Bus Master left as it was: ${reason}`);
  };
  for (const bdf of [...new Set(order)]) {
    if (clock.now() >= until) {
      leave(bdf, `not reached: the ${STOP_DMA_BUDGET_MS} ms after the deadline for this phase were used up`);
      continue;
    }
    if (blocked.has(bdf)) {
      leave(bdf, 'a step holding it is still blocked in the kernel (a config access would block behind the reset)');
      continue;
    }
    const never = neverTouch(env, bdf);
    if (never) {
      leave(bdf, never);
      continue;
    }
    const driver = driverOf(env, bdf);
    if (driver) {
      leave(bdf, `driver ${driver} is bound: clearing Bus Master under a live driver would break it`);
      continue;
    }
    const d = env.topo.device(bdf);
    if (d?.headerType === R.PCI_HEADER_TYPE_BRIDGE || d?.headerType === R.PCI_HEADER_TYPE_CARDBUS) {
      const bound = env.topo.below(bdf).filter((b) => driverOf(env, b) !== null);
      if (bound.length) {
        leave(bdf, `a bridge with a driver bound below it (${bound.join(', ')}): its Bus Master forwards their DMA`);
        continue;
      }
    }
    let cmd: number;
    try {
      cmd = env.access.readConfigAt(bdf, R.PCI_COMMAND, 2);
    } catch (err) {
      leave(bdf, `Command could not be read: ${(err as Error).message}`);
      continue;
    }
    if (cmd === 0xffff) {
      leave(bdf, 'the function does not answer (Command reads all-ones)');
      continue;
    }
    if (cmd & R.PCI_COMMAND_MASTER) {
      let after: number;
      try {
        env.access.writeConfigAt(bdf, R.PCI_COMMAND, 2, cmd & ~R.PCI_COMMAND_MASTER);
        after = env.access.readConfigAt(bdf, R.PCI_COMMAND, 2);
      } catch (err) {
        leave(bdf, `clearing Bus Master failed: ${(err as Error).message}`);
        continue;
      }
      if (after === 0xffff || after & R.PCI_COMMAND_MASTER) {
        leave(bdf, `Bus Master still reads 1 after the write that clears it (Command 0x${after.toString(16).padStart(4, '0')})`);
        continue;
      }
    }
    out.cleared.push(bdf);
    log.info({ event: 'apply.bus_master', bdf, result: 'cleared' }, `${bdf}: DMA stopped (Bus Master cleared), not reset`);
    stepOf.get(bdf)?.notes.push(`${bdf}: DMA stopped (Bus Master cleared), not reset`);
  }
  return out;
}
