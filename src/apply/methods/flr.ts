import * as R from '../../config/registers.js';
import { flrWaitMs } from './step-delays.js';
import { waitPending } from '../wait-pending.js';
import { waitReady } from '../wait-ready.js';
import type { ResetMethod } from './method.js';
import { BRIDGE_REFUSAL, checkCommandCleared, disableDevice, isBridge } from './quiesce.js';
import { quirkDelay } from './step-delays.js';

/**
 * Chelsio T4 ((device & 0xf000) == 0x4000): a plain FLR with Bus Master off can wedge it;
 * reset_chelsio_generic_dev() (drivers/pci/quirks.c:4020) keeps Bus Master and MSI-X on instead. Only
 * the kernel's device_specific reset may reset it; a hand-made plan's raw FLR is refused (IDs read now).
 */
export function chelsioRefusal(ctx: Parameters<ResetMethod['probe']>[0]): string | null {
  let id: number;
  try {
    id = ctx.access.readConfigAt(ctx.target, R.PCI_VENDOR_ID, 4);
  } catch {
    return null;
  }
  if ((id & 0xffff) !== 0x1425 || ((id >>> 16) & 0xf000) !== 0x4000) return null;
  return 'refused: Chelsio T4 can wedge when Bus Master is cleared with DMA in flight (reset_chelsio_generic_dev(), drivers/pci/quirks.c:4020): only the kernel\'s device_specific reset';
}

/**
 * pcie_flr(): Bus Master off, wait for Transactions Pending (0/100/200/400 ms), Initiate Function Level
 * Reset (DevCtl bit 15), 100 ms unless Immediate Readiness, then poll until the function answers.
 */
export const flr: ResetMethod = {
  name: 'flr',
  probe(ctx) {
    const layout = ctx.layout(ctx.target);
    if (isBridge(layout)) return BRIDGE_REFUSAL;
    if (!layout.pcie) return 'no PCI Express capability';
    // The quirk table can say a function does FLR although DevCap does not advertise it (the kernel's
    // device-specific resets that call pcie_flr() directly); the planner marks such a step assumeFlr.
    if (!layout.pcie.flr && ctx.step.assumeFlr !== true) return 'DevCap does not advertise Function Level Reset';
    return chelsioRefusal(ctx);
  },
  clears: (ctx) => [ctx.target, ...ctx.env.topo.vfs(ctx.target)],
  observes: () => [],
  async reset(ctx) {
    const bdf = ctx.target;
    const layout = ctx.layout(bdf);
    const cap = layout.pcie!.offset;
    disableDevice(ctx, bdf);
    if (!(await waitPending(ctx, bdf, cap + R.PCI_EXP_DEVSTA, R.PCI_EXP_DEVSTA_TRPND, 'DevSta'))) {
      ctx.note('timed out waiting for pending transaction; performing function level reset anyway');
    }
    const ctl = ctx.read(bdf, cap + R.PCI_EXP_DEVCTL, 2, 'DevCtl');
    ctx.beginReset('the FLR');
    ctx.write(bdf, cap + R.PCI_EXP_DEVCTL, 2, ctl | R.PCI_EXP_DEVCTL_BCR_FLR, 'DevCtl');
    ctx.phase = 'wait';
    // PCIe r4.0 6.6.2: a function must complete FLR within 100 ms and may drop requests until then.
    // pcie_flr()/pci_af_flr(): 100 ms unless Immediate Readiness; a valid Readiness Time Reporting FLR Time instead (plan/waits.ts flrReadiness()).
    await ctx.wait('flr', flrWaitMs(layout));
    await quirkDelay(ctx);
    await waitReady(ctx, bdf, 'FLR');
    const after = ctx.read(bdf, cap + R.PCI_EXP_DEVCTL, 2, 'DevCtl');
    if (after & R.PCI_EXP_DEVCTL_BCR_FLR) ctx.fail('EIO', bdf, 'Initiate Function Level Reset still reads 1 after the reset (broken function)');
    checkCommandCleared(ctx, bdf, 'FLR');
    return { roots: [bdf], reason: 'FLR' };
  },
};
