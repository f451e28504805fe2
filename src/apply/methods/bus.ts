import * as R from '../../config/registers.js';
import type { StepContext } from '../step-context.js';
import { linkGoneCheck, waitSecondaryBus } from '../wait-secondary-bus.js';
import type { ResetMethod } from './method.js';
import { disableDevice, isBridge } from './quiesce.js';
import { busDelayMs, quirkDelay } from './step-delays.js';
import { kernelWrite } from './sysfs-write.js';

/** The bridge whose secondary bus is reset: the step's target, or for a `bus` fallback of a function step, its parent. */
function bridgeOf(ctx: StepContext): string | null {
  if (isBridge(ctx.layout(ctx.target))) return ctx.target;
  return ctx.env.topo.parent(ctx.target);
}

function useResetSubordinate(ctx: StepContext, bridge: string): boolean {
  if (ctx.env.preferResetSubordinate === false) return false;
  try {
    return ctx.access.listAttributes(bridge).includes('reset_subordinate');
  } catch {
    return false;
  }
}

/**
 * Secondary bus reset on a bridge: every function below it goes back to power-on values. Through the
 * bridge's `reset_subordinate` when the kernel has it (it saves and restores everything below itself);
 * otherwise the kernel's pci_reset_secondary_bus() by hand: Bus Master off everywhere below, Bridge
 * Control bit 6 set, held 2 ms, cleared (and checked cleared), then the wait for the secondary bus.
 */
export const bus: ResetMethod = {
  name: 'bus',
  probe(ctx) {
    const bridge = bridgeOf(ctx);
    if (bridge === null) return 'no upstream bridge to reset the bus through (function on a root bus)';
    if (!isBridge(ctx.layout(bridge))) return `${bridge} is not a bridge`;
    const below = ctx.env.topo.below(bridge);
    if (below.length === 0) return `nothing below ${bridge}`;
    const outside = below.filter((b) => !ctx.step.functions.includes(b));
    if (outside.length) return `a bus reset of ${bridge} would also reset ${outside.join(', ')}, which this step does not cover`;
    return null;
  },
  clears(ctx) {
    const bridge = bridgeOf(ctx)!;
    return useResetSubordinate(ctx, bridge) ? [] : ctx.env.topo.below(bridge);
  },
  observes(ctx) {
    const bridge = bridgeOf(ctx)!;
    return useResetSubordinate(ctx, bridge) ? ctx.env.topo.below(bridge) : [];
  },
  async reset(ctx) {
    const bridge = bridgeOf(ctx)!;
    if (useResetSubordinate(ctx, bridge)) {
      await kernelWrite(ctx, bridge, 'reset_subordinate', '1');
      ctx.note(`reset through ${bridge}/reset_subordinate (the kernel saved and restored every function below)`);
      return { roots: [], reason: 'bus reset' };
    }
    const below = ctx.env.topo.below(bridge);
    for (const b of below) {
      try {
        disableDevice(ctx, b);
      } catch (err) {
        // A VF that is already gone, a function not answering: the reset stops it anyway.
        ctx.note(`could not clear Command on ${b} before the bus reset: ${(err as Error).message}`);
      }
    }
    const ctl = ctx.read(bridge, R.PCI_BRIDGE_CONTROL, 2, 'Bridge Control');
    if (ctl & R.PCI_BRIDGE_CTL_BUS_RESET) ctx.note(`Secondary Bus Reset was already set on ${bridge} before we started`);
    try {
      ctx.write(bridge, R.PCI_BRIDGE_CONTROL, 2, ctl | R.PCI_BRIDGE_CTL_BUS_RESET, 'Bridge Control');
      // PCI r3.0 7.6.4.2: Trst at least 1 ms; the kernel holds 2. Not cut short by the deadline.
      await ctx.hold('sbr-hold', 2);
    } finally {
      deassert(ctx, bridge, ctl & ~R.PCI_BRIDGE_CTL_BUS_RESET);
    }
    ctx.phase = 'wait';
    await waitSecondaryBus(ctx, bridge, busDelayMs(ctx.step, ctx.layout(bridge)));
    await quirkDelay(ctx);
    return { roots: ctx.env.topo.dependents(bridge), reason: 'bus reset', giveUp: linkGoneCheck(ctx, bridge) };
  },
};

/** Clear the reset bit and make sure it is clear: a bus left in reset is the worst outcome there is. */
function deassert(ctx: StepContext, bridge: string, value: number): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      ctx.write(bridge, R.PCI_BRIDGE_CONTROL, 2, value, 'Bridge Control');
      if (!(ctx.access.readConfigAt(bridge, R.PCI_BRIDGE_CONTROL, 2) & R.PCI_BRIDGE_CTL_BUS_RESET)) return;
    } catch (err) {
      if (attempt === 2) throw err;
    }
  }
  ctx.fail('EIO', bridge, 'Secondary Bus Reset stays set in Bridge Control after 3 writes to clear it: everything below is held in reset');
}
