import { AccessError } from '../../access/access-error.js';
import type { StepContext } from '../step-context.js';
import type { ResetMethod } from './method.js';
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
    const restore = once(() => restoreResetMethod(ctx, before));
    ctx.onCleanup(restore);
    try {
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
 * Put `reset_method` back. A listing the kernel will not take back (a stale `bus` it listed at
 * enumeration, see the reference §7) falls back to `default`, which re-probes; either way it is read back.
 */
function restoreResetMethod(ctx: StepContext, previous: string): void {
  const bdf = ctx.target;
  const write = (v: string): void => ctx.access.writeAttribute(bdf, 'reset_method', v === '' ? '\n' : v);
  try {
    write(previous);
  } catch (err) {
    const code = err instanceof AccessError ? err.code : 'EIO';
    try {
      write('default');
      ctx.note(`reset_method ${JSON.stringify(previous)} was refused back (${code}); wrote "default" instead`);
    } catch (err2) {
      ctx.note(`could not put reset_method back to ${JSON.stringify(previous)}: ${(err as Error).message}; "default" also failed: ${(err2 as Error).message}`);
      return;
    }
  }
  let now: string | null = null;
  try {
    now = ctx.access.readAttribute(bdf, 'reset_method');
  } catch {
    now = null;
  }
  if (now === null) ctx.note('reset_method could not be read back after restoring it');
  else if (now.trim() !== previous) ctx.note(`reset_method reads ${JSON.stringify(now.trim())} after restore (was ${JSON.stringify(previous)})`);
  else ctx.env.log.info({ event: 'step.reset_method_restored', step: ctx.step.id, target: bdf, value: previous }, 'reset_method restored');
}
