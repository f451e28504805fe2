import * as R from '../../config/registers.js';
import type { StepContext } from '../step-context.js';
import { waitReady } from '../wait-ready.js';
import type { ResetMethod } from './method.js';
import { BRIDGE_REFUSAL, checkCommandCleared, disableDevice, isBridge } from './quiesce.js';
import { d3hotDelayMs, quirkDelay } from './step-delays.js';

/**
 * pci_pm_reset(): D3hot then D0 through PMCSR, the d3hot delay after each write, then poll. Works only
 * when No_Soft_Reset is clear (else D3hot->D0 keeps the state and resets nothing).
 */
export const pm: ResetMethod = {
  name: 'pm',
  probe(ctx) {
    const layout = ctx.layout(ctx.target);
    if (isBridge(layout)) return BRIDGE_REFUSAL;
    if (layout.pm === null) return 'no usable Power Management capability';
    const csr = ctx.read(ctx.target, layout.pm + R.PCI_PM_CTRL, 2, 'PMCSR');
    if (csr === 0xffff) return 'PMCSR reads all-ones (function not answering)';
    if (csr & R.PCI_PM_CTRL_NO_SOFT_RESET) return 'No_Soft_Reset is set: D3hot->D0 keeps the function state';
    return null;
  },
  clears: (ctx) => [ctx.target, ...ctx.env.topo.vfs(ctx.target)],
  observes: () => [],
  async reset(ctx) {
    const bdf = ctx.target;
    const o = ctx.layout(bdf).pm! + R.PCI_PM_CTRL;
    const delay = d3hotDelayMs(ctx.step);
    disableDevice(ctx, bdf);
    let csr = ctx.read(bdf, o, 2, 'PMCSR');
    if ((csr & R.PCI_PM_CTRL_STATE_MASK) !== R.PCI_D0) {
      // The kernel brings the function to D0 before it saves state; only from D0 is the reset defined.
      // From here the step is committed: its waits are not cut, so the function is never left in D3hot.
      ctx.beginHold('the move to D0');
      ctx.note(`function was in D${csr & R.PCI_PM_CTRL_STATE_MASK}; brought to D0 first`);
      ctx.write(bdf, o, 2, (csr & ~R.PCI_PM_CTRL_STATE_MASK) >>> 0, 'PMCSR');
      await ctx.wait('d3hot', delay);
      csr = ctx.read(bdf, o, 2, 'PMCSR');
      // Back in D0, nothing is stranded: the D3hot below is a new commitment, refused after the deadline.
      ctx.holding = false;
    }
    // Committed from the write of D3hot on: the dwell, D0 and the delay after it run past the deadline.
    ctx.beginHold('the move to D3hot');
    const d0 = (csr & ~R.PCI_PM_CTRL_STATE_MASK) >>> 0;
    let backInD0 = false;
    try {
      ctx.write(bdf, o, 2, d0 | R.PCI_D3HOT, 'PMCSR');
      ctx.phase = 'wait';
      await ctx.wait('d3hot', delay);
      ctx.phase = 'reset';
      // The kernel does not look; a function that ignored the write would be reported reset when it was not.
      const inD3 = ctx.read(bdf, o, 2, 'PMCSR') & R.PCI_PM_CTRL_STATE_MASK;
      if (inD3 !== R.PCI_D3HOT) ctx.fail('EIO', bdf, `PMCSR reads D${inD3} after the write of D3hot: the function did not enter D3hot, so it was not reset`);
      ctx.beginReset('the move from D3hot to D0');
      ctx.write(bdf, o, 2, d0, 'PMCSR');
      backInD0 = true;
    } finally {
      if (!backInD0) await backToD0(ctx, bdf, o, d0, delay);
    }
    ctx.phase = 'wait';
    await ctx.wait('d3hot', delay);
    await quirkDelay(ctx);
    await waitReady(ctx, bdf, 'PM D3hot->D0');
    const after = ctx.read(bdf, o, 2, 'PMCSR') & R.PCI_PM_CTRL_STATE_MASK;
    if (after !== R.PCI_D0) ctx.fail('EIO', bdf, `PMCSR still reads D${after} after the write of D0: the function did not come back to D0, so it was not reset`);
    checkCommandCleared(ctx, bdf, 'PM reset');
    return { roots: [bdf], reason: 'PM D3hot->D0' };
  },
};

/**
 * A PM step that failed after the write of D3hot: never leave the function there (a driver that binds
 * later may not expect it, and the dump's own devices could sit behind it). Write D0 and wait the delay;
 * a failure is noted, not thrown, so that the step's own error is the one reported.
 */
async function backToD0(ctx: StepContext, bdf: string, o: number, d0: number, delay: number): Promise<void> {
  try {
    const state = ctx.access.readConfigAt(bdf, o, 2);
    if (state !== 0xffff && (state & R.PCI_PM_CTRL_STATE_MASK) === R.PCI_D0) return;
    ctx.access.writeConfigAt(bdf, o, 2, d0);
    await ctx.wait('d3hot', delay);
    ctx.note(`${bdf} written back to D0 after the failure (never left in D3hot)`);
  } catch (err) {
    ctx.note(`${bdf} could not be written back to D0 and may be left in D3hot: ${(err as Error).message}`);
  }
}
