import { AccessError } from '../../access/access-error.js';
import type { StepContext } from '../step-context.js';
import type { ResetMethod } from './method.js';
import { BRIDGE_REFUSAL, targetIsBridge } from './quiesce.js';
import { quirkDelay } from './step-delays.js';
import { kernelWrite } from './sysfs-write.js';

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
    const restore = (): void => {
      const busy = ctx.kernelPending;
      if (busy === null) return restoreNow();
      if (deferred) return;
      deferred = true;
      ctx.note(
        `reset_method is put back to ${JSON.stringify(before)} when the kernel's reset returns (the write cannot be interrupted); ` +
          `if the process is killed before then it stays ${JSON.stringify(sub)}`,
      );
      void busy.then(restoreNow, restoreNow);
    };
    ctx.onCleanup(restore);
    try {
      ctx.checkDeadline(`selecting ${sub} in reset_method`);
      try {
        ctx.access.writeAttribute(bdf, 'reset_method', sub);
      } catch (err) {
        const code = err instanceof AccessError ? err.code : 'EIO';
        // EINVAL: the name is unknown or its probe fails now ("Unsupported reset method"): try the next in the chain.
        ctx.fail(code, bdf, `the kernel refuses reset_method ${JSON.stringify(sub)}: ${(err as Error).message}`, code === 'EINVAL');
      }
      await kernelWrite(ctx, bdf, 'reset', '1');
      await quirkDelay(ctx);
    } finally {
      restore();
    }
    return { roots: [], reason: `kernel reset (${sub})` };
  },
};

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/**
 * Put `reset_method` back, and read it back. A write that fails for a passing reason (EIO, EAGAIN,
 * EACCES, …) or does not read back is made once more. A listing the kernel will not take back (EINVAL: a
 * stale `bus` it listed at enumeration, see the reference §7) falls back to `default`, which re-probes.
 */
function restoreResetMethod(ctx: StepContext, previous: string): void {
  const bdf = ctx.target;
  const write = (v: string): void => ctx.access.writeAttribute(bdf, 'reset_method', v === '' ? '\n' : v);
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
  for (let attempt = 1; attempt <= 2; attempt++) {
    let code: string | null = null;
    try {
      write(previous);
    } catch (err) {
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
      write('default');
      ctx.note(`reset_method ${JSON.stringify(previous)} was refused back (${code}); wrote "default" instead`);
    } catch (err2) {
      ctx.note(`could not put reset_method back to ${JSON.stringify(previous)}: ${problem}; "default" also failed: ${(err2 as Error).message}`);
      return;
    }
    return reportReadBack(readBack());
  }
}
