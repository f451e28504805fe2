import { AccessError } from '../access/access-error.js';
import * as R from '../config/registers.js';
import { DeadlineError, MethodError } from './method-error.js';
import { MAX_POLL_MS, type StepContext } from './step-context.js';

/** Whether the Root Port above `bdf` has Configuration RRS Software Visibility on (read now, not from the scan). */
export function rrsVisible(ctx: StepContext, bdf: string): boolean {
  const rp = ctx.env.topo.rootPort(bdf);
  if (rp === null) return false;
  try {
    const p = ctx.layout(rp).pcie;
    if (!p) return false;
    return (ctx.access.readConfigAt(rp, p.offset + R.PCI_EXP_RTCTL, 2) & R.PCI_EXP_RTCTL_RRS_SVE) !== 0;
  } catch {
    return false;
  }
}

export interface ReadyOptions {
  timeoutMs?: number;
  /** Checked once per poll: a reason to stop waiting early (the link went down for good), or null. */
  giveUp?: (elapsedMs: number) => string | null;
}

/**
 * pci_dev_wait(): poll until the function answers config reads. Below a Root Port with RRS Software
 * Visibility, read the Vendor ID until it is not 0x0001; otherwise read Command until it is not all-ones.
 * Stricter than the kernel in one way: under RRS visibility an all-ones dword is "not yet" unless Command
 * answers (a function behind a bridge that is not restored yet reads all-ones, not 0x0001; a VF reads
 * all-ones IDs but a real Command). Intervals double from
 * 1 ms as the kernel's do, capped at MAX_POLL_MS so a late function is seen soon after it answers.
 */
export async function waitReady(ctx: StepContext, bdf: string, reason: string, options: ReadyOptions = {}): Promise<number> {
  const timeout = options.timeoutMs ?? ctx.env.readyTimeoutMs;
  const rrs = rrsVisible(ctx, bdf);
  const start = ctx.now();
  let delay = 1;
  let lastError: string | null = null;
  for (;;) {
    let ready = false;
    try {
      if (rrs) {
        const id = ctx.access.readConfigAt(bdf, R.PCI_VENDOR_ID, 4);
        // An SR-IOV VF reads 0xFFFF as its IDs by design: then Command tells.
        ready = (id & 0xffff) !== R.PCI_VENDOR_ID_RRS && (id !== 0xffffffff || ctx.access.readConfigAt(bdf, R.PCI_COMMAND, 4) !== 0xffffffff);
      } else {
        ready = ctx.access.readConfigAt(bdf, R.PCI_COMMAND, 4) !== 0xffffffff;
      }
    } catch (err) {
      if (err instanceof AccessError && (err.code === 'ENOENT' || err.code === 'ENODEV')) {
        throw new MethodError(err.code, 'wait', bdf, `function vanished while waiting for it after ${reason}`);
      }
      lastError = err instanceof Error ? err.message : String(err);
    }
    const elapsed = ctx.now() - start;
    if (ready) return elapsed;
    const why = options.giveUp?.(elapsed) ?? null;
    if (why) throw new MethodError('ENOTTY', 'wait', bdf, why);
    if (elapsed >= timeout) {
      const tail = lastError ? ` (last error: ${lastError})` : rrs ? ' (still answering with Request Retry Status)' : ' (config reads all-ones)';
      throw new MethodError('ETIMEDOUT', 'wait', bdf, `not ready ${Math.round(elapsed)}ms after ${reason}; giving up${tail}`);
    }
    try {
      await ctx.poll(`ready ${bdf}`, Math.min(delay, MAX_POLL_MS, Math.max(1, timeout - elapsed)));
    } catch (err) {
      if (err instanceof DeadlineError) throw new DeadlineError(`waiting for ${bdf} to answer after ${reason}`);
      throw err;
    }
    delay *= 2;
  }
}
