import { AccessError } from '../../access/access-error.js';
import { MethodError, StillInKernel } from '../method-error.js';
import type { StepContext } from '../step-context.js';

/** Busy codes worth one more try: the kernel's trylock paths (reset_subordinate, VFIO) answer EAGAIN. */
const BUSY = new Set(['EAGAIN', 'EBUSY']);

/**
 * Write a sysfs file that makes the kernel reset something: without blocking the event loop when the
 * backend can (the write lasts as long as the reset), timed as a wait, once more after 100 ms when the
 * kernel says busy. -ENOTTY means "no method worked" and lets the chain move on.
 */
export async function kernelWrite(ctx: StepContext, bdf: string, name: string, value: string): Promise<void> {
  ctx.beginReset(`the write to ${name}`, 'kernel');
  for (let attempt = 0; ; attempt++) {
    const start = ctx.now();
    try {
      if (ctx.access.writeAttributeAsync) await awaitKernel(ctx, bdf, `the write of ${JSON.stringify(value)} to ${name}`, ctx.access.writeAttributeAsync(bdf, name, value));
      else ctx.access.writeAttribute(bdf, name, value);
      ctx.record(`kernel:${name}`, ctx.now() - start);
      return;
    } catch (err) {
      ctx.record(`kernel:${name}`, ctx.now() - start);
      if (err instanceof StillInKernel) throw err;
      if (!(err instanceof AccessError)) throw err;
      if (BUSY.has(err.code) && attempt === 0) {
        ctx.note(`write of ${JSON.stringify(value)} to ${name} answered ${err.code}; trying once more in 100 ms`);
        await ctx.wait('busy-retry', 100);
        continue;
      }
      const notSupported = err.code === 'ENOTTY';
      throw new MethodError(err.code, 'reset', bdf, `write of ${JSON.stringify(value)} to ${name}: ${err.message}`, notSupported);
    }
  }
}

/**
 * How long a reset the kernel performs may block before the step gives up on it: the step's planned
 * waits and quirk delay plus the readiness timeout, what the same reset done by hand would be allowed.
 * The kernel itself polls a function that does not answer for up to 60 s (PCIE_RESET_READY_POLL_MS);
 * one dead device must not hold every later wave of the plan that long.
 */
export function kernelBlockLimitMs(ctx: StepContext): number {
  const waits = (ctx.step.waits ?? []).reduce((sum, w) => sum + (Number.isFinite(w.ms) && w.ms > 0 ? w.ms : 0), 0);
  const quirk = Number.isFinite(ctx.step.delayAfterMs) && ctx.step.delayAfterMs > 0 ? ctx.step.delayAfterMs : 0;
  return waits + quirk + ctx.env.readyTimeoutMs + 1000;
}

/**
 * Wait for something the kernel does for the step (a write to `reset`, a VFIO ioctl), at most
 * kernelBlockLimitMs(). Past that the step fails with StillInKernel and the operation is handed to the
 * executor, which keeps the step's functions and bridge reserved until it returns (or the run ends).
 */
export async function awaitKernel<T>(ctx: StepContext, bdf: string, what: string, op: Promise<T>): Promise<T> {
  const limit = kernelBlockLimitMs(ctx);
  const stop = new AbortController();
  let settled = false;
  const watch = op.then(
    () => {
      settled = true;
      stop.abort();
      if (ctx.kernelPending === watch) ctx.kernelPending = null;
    },
    () => {
      settled = true;
      stop.abort();
      if (ctx.kernelPending === watch) ctx.kernelPending = null;
    },
  );
  // Until it returns the kernel may be mid-reset: what must be put back (reset_method) waits for it.
  ctx.kernelPending = watch;
  const TIMEOUT = Symbol('timeout');
  const first = await Promise.race([op, ctx.clock.sleep(limit, stop.signal).then(() => TIMEOUT)]);
  stop.abort();
  if (first !== TIMEOUT) return first as T;
  if (settled) return op;
  ctx.inKernel.push(watch);
  throw new StillInKernel(
    bdf,
    `${what} has not returned after ${limit} ms (planned waits + --ready-timeout + 1 s): given up while it is still blocked in the kernel; ${bdf} and its bridge are left alone for the rest of the run`,
  );
}
