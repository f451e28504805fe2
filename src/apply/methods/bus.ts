import { decodeConfig } from '../../config/decode.js';
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
    if (!useResetSubordinate(ctx, bridge)) {
      const cxl = cxlPortDvsec(ctx, bridge);
      if (cxl !== null) {
        return `refused: ${bridge} is a CXL port (CXL Port DVSEC at 0x${cxl.toString(16)}): its Secondary Bus Reset is masked unless Unmask SBR is set, so a raw bus reset may do nothing; only the kernel's cxl_bus (kernel:cxl_bus) unmasks it, resets, and masks it again`;
      }
    }
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
    ctx.beginReset('the secondary bus reset');
    try {
      ctx.write(bridge, R.PCI_BRIDGE_CONTROL, 2, ctl | R.PCI_BRIDGE_CTL_BUS_RESET, 'Bridge Control');
      // PCI r3.0 7.6.4.2: Trst at least 1 ms; the kernel holds 2. Not cut short by the deadline. In real
      // time set, hold and clear happen in one event-loop turn: no signal handler, no other step's work
      // and no exit can come between them and leave the bus held in reset.
      if (ctx.clock.virtual) await ctx.hold('sbr-hold', 2);
      else holdSync(ctx, 'sbr-hold', 2);
      // The kernel does not look; a bridge that ignored the write would have us report a reset that never
      // was. A read that fails tells nothing either way.
      let held: number | null = null;
      try {
        held = ctx.access.readConfigAt(bridge, R.PCI_BRIDGE_CONTROL, 2);
      } catch {
        held = null;
      }
      if (held !== null && held !== 0xffff && !(held & R.PCI_BRIDGE_CTL_BUS_RESET)) {
        ctx.fail('EIO', bridge, 'Secondary Bus Reset does not read back set after the write that asserts it: the bus was not reset');
      }
    } finally {
      deassert(ctx, bridge, ctl & ~R.PCI_BRIDGE_CTL_BUS_RESET);
    }
    ctx.phase = 'wait';
    await waitSecondaryBus(ctx, bridge, busDelayMs(ctx.step, ctx.layout(bridge)));
    await quirkDelay(ctx);
    return { roots: ctx.env.topo.dependents(bridge), reason: 'bus reset', giveUp: linkGoneCheck(ctx, bridge) };
  },
};

/** Block the thread for `ms` (Atomics.wait: a sleep that yields nothing to the event loop), recorded as a wait. */
function holdSync(ctx: StepContext, what: string, ms: number): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const start = ctx.now();
  for (let left = ms; left > 0; left = ms - (ctx.now() - start)) Atomics.wait(cell, 0, 0, left);
  ctx.record(what, ctx.now() - start);
}

/** Offset of the bridge's CXL Port DVSEC: the scan's, else decoded from its config now; null when it has none. */
function cxlPortDvsec(ctx: StepContext, bridge: string): number | null {
  const known = ctx.env.topo.device(bridge)?.cxlPortDvsec;
  if (known !== undefined && known !== null) return known;
  try {
    const bytes = ctx.access.readConfig(bridge);
    return bytes === null ? null : decodeConfig(bytes).cxlPortDvsec;
  } catch {
    return null;
  }
}

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
