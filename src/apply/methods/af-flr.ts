import * as R from '../../config/registers.js';
import { flrWaitMs } from './step-delays.js';
import { waitPending } from '../wait-pending.js';
import { waitReady } from '../wait-ready.js';
import { chelsioRefusal } from './flr.js';
import type { ResetMethod } from './method.js';
import { BRIDGE_REFUSAL, checkCommandCleared, disableDevice, isBridge } from './quiesce.js';
import { quirkDelay } from './step-delays.js';

/**
 * pci_af_flr(): FLR of a conventional PCI function through the Advanced Features capability. Needs both
 * AF_CAP bits (TP and FLR); waits for TP with a word read at AF_CTRL (AF_STATUS is its high byte).
 */
export const afFlr: ResetMethod = {
  name: 'af_flr',
  probe(ctx) {
    const layout = ctx.layout(ctx.target);
    if (isBridge(layout)) return BRIDGE_REFUSAL;
    if (!layout.af) return 'no Advanced Features capability';
    if (!layout.af.tp || !layout.af.flr) return 'AF_CAP lacks TP or FLR';
    return chelsioRefusal(ctx);
  },
  clears: (ctx) => [ctx.target],
  observes: () => [],
  async reset(ctx) {
    const bdf = ctx.target;
    const layout = ctx.layout(bdf);
    const af = layout.af!.offset;
    disableDevice(ctx, bdf);
    if (!(await waitPending(ctx, bdf, af + R.PCI_AF_CTRL, R.PCI_AF_STATUS_TP << 8, 'AF_CTRL/AF_STATUS'))) {
      ctx.note('timed out waiting for pending transaction; performing AF function level reset anyway');
    }
    ctx.beginReset('the AF FLR');
    ctx.write(bdf, af + R.PCI_AF_CTRL, 1, R.PCI_AF_CTRL_FLR, 'AF_CTRL');
    ctx.phase = 'wait';
    // pcie_flr()/pci_af_flr(): 100 ms unless Immediate Readiness; a valid Readiness Time Reporting FLR Time instead (plan/waits.ts flrReadiness()).
    await ctx.wait('af_flr', flrWaitMs(layout));
    await quirkDelay(ctx);
    await waitReady(ctx, bdf, 'AF_FLR');
    checkCommandCleared(ctx, bdf, 'AF FLR');
    return { roots: [bdf], reason: 'AF_FLR' };
  },
};
