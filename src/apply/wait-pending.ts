import type { StepContext } from './step-context.js';

/**
 * pci_wait_for_pending(): read the Transactions Pending bit at 0, 100, 300 and 700 ms (sleeps of 100,
 * 200, 400). Returns false when it never cleared; the caller resets anyway, as the kernel does.
 */
export async function waitPending(ctx: StepContext, bdf: string, offset: number, mask: number, what: string): Promise<boolean> {
  for (let i = 0; i < 4; i++) {
    if (i) await ctx.wait('pending-transactions', (1 << (i - 1)) * 100);
    const v = ctx.read(bdf, offset, 2, what);
    if ((v & mask) === 0) return true;
  }
  return false;
}
