import { AccessError } from '../../access/access-error.js';
import { MethodError } from '../method-error.js';
import type { StepContext } from '../step-context.js';

/** Busy codes worth one more try: the kernel's trylock paths (reset_subordinate, VFIO) answer EAGAIN. */
const BUSY = new Set(['EAGAIN', 'EBUSY']);

/**
 * Write a sysfs file that makes the kernel reset something: without blocking the event loop when the
 * backend can (the write lasts as long as the reset), timed as a wait, once more after 100 ms when the
 * kernel says busy. -ENOTTY means "no method worked" and lets the chain move on.
 */
export async function kernelWrite(ctx: StepContext, bdf: string, name: string, value: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const start = ctx.now();
    try {
      if (ctx.access.writeAttributeAsync) await ctx.access.writeAttributeAsync(bdf, name, value);
      else ctx.access.writeAttribute(bdf, name, value);
      ctx.record(`kernel:${name}`, ctx.now() - start);
      return;
    } catch (err) {
      ctx.record(`kernel:${name}`, ctx.now() - start);
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
