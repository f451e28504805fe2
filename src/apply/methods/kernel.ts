import { AccessError } from '../../access/access-error.js';
import type { StepContext } from '../step-context.js';
import type { ResetMethod } from './method.js';
import { BRIDGE_REFUSAL, targetIsBridge } from './quiesce.js';
import { quirkDelay } from './step-delays.js';
import { awaitKernel, kernelBlockLimitMs, kernelWrite } from './sysfs-write.js';
import { StillInKernel } from '../method-error.js';

/** `kernel:<m>` → `m`; `kernel` → null. */
export function kernelSubMethod(method: string): string | null {
  return method.startsWith('kernel:') ? method.slice('kernel:'.length) : null;
}

function listing(ctx: StepContext): string[] {
  try {
    return ctx.access.listAttributes(ctx.target);
  } catch (err) {
    ctx.fail(err instanceof AccessError ? err.code : 'EIO', ctx.target, `cannot list the function's sysfs directory: ${(err as Error).message}`);
  }
}

/**
 * The kernel's own reset: write 1 to the function's `reset` (pci_reset_function(): save, the method chain,
 * wait, restore). `kernel:<m>` first selects method m in `reset_method` and puts the previous content
 * back afterwards on every path, the deadline's included.
 */
export const kernel: ResetMethod = {
  name: 'kernel',
  probe(ctx) {
    // The kernel's chain for a bridge holds FLR and PM of the bridge itself: never through here.
    if (targetIsBridge(ctx)) return BRIDGE_REFUSAL;
    const names = listing(ctx);
    if (!names.includes('reset')) return 'no reset file: the kernel found no reset method for this function';
    const sub = kernelSubMethod(ctx.method);
    if (sub !== null && !names.includes('reset_method')) return 'no reset_method file (kernel older than 5.15): cannot select a method';
    return null;
  },
  clears: () => [],
  observes: (ctx) => [ctx.target],
  async reset(ctx) {
    const bdf = ctx.target;
    const sub = kernelSubMethod(ctx.method);
    if (sub === null) {
      await kernelWrite(ctx, bdf, 'reset', '1');
      await quirkDelay(ctx);
      return { roots: [], reason: 'kernel reset' };
    }
    let previous: string | null;
    try {
      previous = ctx.access.readAttribute(bdf, 'reset_method');
    } catch (err) {
      throw ctx.error(err instanceof AccessError ? err.code : 'EIO', bdf, `cannot read reset_method, so it could not be put back: ${(err as Error).message}`);
    }
    if (previous === null) throw ctx.error('ENOENT', bdf, 'reset_method vanished', true);
    const before = previous.trim();
    const restoreNow = once(() => restoreResetMethod(ctx, before));
    // Never while the write to `reset` is still in the kernel: a write to reset_method changes
    // dev->reset_methods[] under the reset that is running. Put it back when that write returns; only a
    // process killed before then leaves the selected method in place.
    let deferred = false;
    const restore = (): Promise<void> => {
      const busy = ctx.kernelPending;
      if (busy === null) return restoreNow();
      if (!deferred) {
        deferred = true;
        ctx.note(
          `reset_method is put back to ${JSON.stringify(before)} when the kernel's reset returns (the write cannot be interrupted); ` +
            `if the process is killed before then it stays ${JSON.stringify(sub)}`,
        );
        void busy.then(restoreNow, restoreNow);
      }
      return Promise.resolve();
    };
    ctx.onCleanup(() => void restore());
    try {
      ctx.checkDeadline(`selecting ${sub} in reset_method`);
      try {
        await writeResetMethod(ctx, sub, 'select');
      } catch (err) {
        if (err instanceof StillInKernel) throw err;
        const code = err instanceof AccessError ? err.code : 'EIO';
        // EINVAL: the name is unknown or its probe fails now ("Unsupported reset method"): try the next in the chain.
        ctx.fail(code, bdf, `the kernel refuses reset_method ${JSON.stringify(sub)}: ${(err as Error).message}`, code === 'EINVAL');
      }
      await kernelWrite(ctx, bdf, 'reset', '1');
      await quirkDelay(ctx);
    } finally {
      await restore();
    }
    return { roots: [], reason: `kernel reset (${sub})` };
  },
};

/**
 * One write to `reset_method`, made where the `reset` writes are (the helper process, in `apply`):
 * reset_method_store() (drivers/pci/pci-sysfs.c:1505) resumes the function from runtime suspend first
 * (pm_runtime_active_try) and runs every named method's probe (reset_fn(pdev, PCI_RESET_PROBE)), so it can
 * sleep in the kernel like a `reset` write. Selecting
 * is waited for as a reset is (awaitKernel: past its limit the step fails, StillInKernel, and the put-back
 * waits for that write); putting back at most as long, then it is left in the helper and named.
 */
async function writeResetMethod(ctx: StepContext, value: string, why: 'select' | 'restore'): Promise<void> {
  const access = ctx.access;
  const bdf = ctx.target;
  if (!access.writeAttributeAsync) return access.writeAttribute(bdf, 'reset_method', value);
  const op = access.writeAttributeAsync(bdf, 'reset_method', value);
  if (why === 'select') return awaitKernel(ctx, bdf, `the write of ${JSON.stringify(value)} to reset_method`, op);
  const limit = kernelBlockLimitMs(ctx);
  const stop = new AbortController();
  const TIMEOUT = Symbol('timeout');
  const first = await Promise.race([op, ctx.clock.sleep(limit, stop.signal).then(() => TIMEOUT)]).finally(() => stop.abort());
  if (first !== TIMEOUT) return;
  // Its function and bridge stay reserved until the write returns (the executor waits on inKernel).
  ctx.inKernel.push(op.catch(() => {}));
  throw new StillInKernel(bdf, `the write of ${JSON.stringify(value)} to reset_method has not returned after ${limit} ms: left in the kernel`);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => (done ??= fn());
}

/**
 * Put `reset_method` back, and read it back. A write that fails for a passing reason (EIO, EAGAIN,
 * EACCES, …) or does not read back is made once more. A listing the kernel will not take back (EINVAL: a
 * stale `bus` it listed at enumeration, see the reference §7) falls back to `default`, which re-probes.
 * A put-back write still in the kernel past its limit is named in a note and left there.
 */
async function restoreResetMethod(ctx: StepContext, previous: string): Promise<void> {
  const bdf = ctx.target;
  const write = (v: string): Promise<void> => writeResetMethod(ctx, v === '' ? '\n' : v, 'restore');
  const readBack = (): string | null => {
    try {
      const v = ctx.access.readAttribute(bdf, 'reset_method');
      return v === null ? null : v.trim();
    } catch {
      return null;
    }
  };
  const reportReadBack = (now: string | null): void => {
    if (now === null) ctx.note('reset_method could not be read back after restoring it');
    else if (now !== previous) ctx.note(`reset_method reads ${JSON.stringify(now)} after restore (was ${JSON.stringify(previous)})`);
  };
  let problem = '';
  try {
    for (let attempt = 1; attempt <= 2; attempt++) {
      let code: string | null = null;
      try {
        await write(previous);
      } catch (err) {
        if (err instanceof StillInKernel) throw err;
        code = err instanceof AccessError ? err.code : 'EIO';
        problem = (err as Error).message;
      }
      if (code === null) {
        const now = readBack();
        if (now === previous) {
          if (attempt > 1) ctx.note(`reset_method put back to ${JSON.stringify(previous)} on a second write (the first: ${problem})`);
          ctx.env.log.info({ event: 'step.reset_method_restored', step: ctx.step.id, target: bdf, value: previous }, 'reset_method restored');
          return;
        }
        problem = now === null ? 'it could not be read back' : `it read ${JSON.stringify(now)}`;
        if (attempt === 2) return reportReadBack(now);
        continue;
      }
      if (code !== 'EINVAL' && attempt === 1) continue;
      try {
        await write('default');
        ctx.note(`reset_method ${JSON.stringify(previous)} was refused back (${code}); wrote "default" instead`);
      } catch (err2) {
        if (err2 instanceof StillInKernel) throw err2;
        ctx.note(`could not put reset_method back to ${JSON.stringify(previous)}: ${problem}; "default" also failed: ${(err2 as Error).message}`);
        return;
      }
      return reportReadBack(readBack());
    }
  } catch (err) {
    if (!(err instanceof StillInKernel)) throw err;
    ctx.note(`reset_method not put back to ${JSON.stringify(previous)}: ${err.message} (outcome unknown)`);
  }
}
