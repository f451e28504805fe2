import * as R from '../../config/registers.js';
import { waitReady } from '../wait-ready.js';
import type { ResetMethod } from './method.js';
import { BRIDGE_REFUSAL, disableDevice, isBridge } from './quiesce.js';
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
      ctx.note(`function was in D${csr & R.PCI_PM_CTRL_STATE_MASK}; brought to D0 first`);
      ctx.write(bdf, o, 2, (csr & ~R.PCI_PM_CTRL_STATE_MASK) >>> 0, 'PMCSR');
      await ctx.wait('d3hot', delay);
      csr = ctx.read(bdf, o, 2, 'PMCSR');
    }
    ctx.write(bdf, o, 2, (csr & ~R.PCI_PM_CTRL_STATE_MASK) | R.PCI_D3HOT, 'PMCSR');
    ctx.phase = 'wait';
    await ctx.wait('d3hot', delay);
    ctx.phase = 'reset';
    ctx.write(bdf, o, 2, csr & ~R.PCI_PM_CTRL_STATE_MASK, 'PMCSR');
    ctx.phase = 'wait';
    await ctx.wait('d3hot', delay);
    await quirkDelay(ctx);
    await waitReady(ctx, bdf, 'PM D3hot->D0');
    return { roots: [bdf], reason: 'PM D3hot->D0' };
  },
};
