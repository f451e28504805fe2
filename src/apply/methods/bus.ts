import { decodeConfig } from '../../config/decode.js';
import { pcieRegisterImplemented } from '../../config/register-layout.js';
import { MethodError } from '../method-error.js';
import * as R from '../../config/registers.js';
import type { StepContext } from '../step-context.js';
import { linkGoneCheck, waitSecondaryBus } from '../wait-secondary-bus.js';
import { pulseTogether, SBR_HOLD_MS, type Pulse } from './bus-pulse.js';
import type { ResetMethod } from './method.js';
import { disableDevice, isBridge } from './quiesce.js';
import { busDelayMs, quirkDelay } from './step-delays.js';
import { kernelWrite } from './sysfs-write.js';

/** The bridge whose secondary bus is reset: the step's target, or for a `bus` fallback of a function step, its parent. */
function bridgeOf(ctx: StepContext): string | null {
  if (isBridge(ctx.layout(ctx.target))) return ctx.target;
  return ctx.env.topo.parent(ctx.target);
}

/**
 * `reset_subordinate` runs __pci_reset_bus(), whose restore comes too soon below a PCIe-to-PCI bridge:
 * pci_bridge_wait_for_secondary_bus() (drivers/pci/pci.c:4805) returns 0 there (pci.c:4865), and
 * pci_bus_restore_locked() (pci.c:5546) writes config into conventional devices still inside Trhfa.
 * The bridge reset, or any bridge below it, being one rules the file out: the raw reset holds 1 s + delay.
 */
export function kernelBusTooSoon(ctx: StepContext, bridge: string): string | null {
  for (const b of [bridge, ...ctx.env.topo.below(bridge)]) {
    let type: string | null | undefined;
    try {
      type = ctx.layout(b).pcie?.type;
    } catch {
      type = ctx.env.topo.device(b)?.pcieType;
    }
    if (type === 'pcie_to_pci_bridge' && ctx.env.topo.below(b).length > 0) return `${b} is a PCIe-to-PCI bridge: the kernel's reset_subordinate would restore below it ~2 ms after the reset, inside Trhfa`;
  }
  return null;
}

/**
 * A hot-plug port (SltCap Hot-Plug Capable) at or below the bridge: a raw reset there, Bridge Control or
 * reset_subordinate, looks to pciehp like a surprise removal; only pciehp_reset_slot()
 * (drivers/pci/hotplug/pciehp_hpc.c), which the kernel's `bus` of a lone function reaches through
 * pci_dev_reset_slot_function(), masks the link events. Read now, not from the scan. Null when none.
 */
function hotPlugPort(ctx: StepContext, bridge: string): string | null {
  for (const b of [bridge, ...ctx.env.topo.below(bridge)]) {
    let p;
    try {
      const layout = ctx.layout(b);
      if (layout.headerType !== R.PCI_HEADER_TYPE_BRIDGE) continue;
      p = layout.pcie;
    } catch {
      continue;
    }
    if (!p || !p.slotImplemented) continue;
    let cap = 0;
    try {
      cap = ctx.access.readConfigAt(b, p.offset + R.PCI_EXP_SLTCAP, 4);
    } catch {
      cap = ctx.env.topo.device(b)?.pcie?.hotPlugCapable ? R.PCI_EXP_SLTCAP_HPC : 0;
    }
    if (cap !== 0xffffffff && cap & R.PCI_EXP_SLTCAP_HPC) return b;
  }
  return null;
}

/** The first function below whose CXL Device DVSEC shows Mem_Enable now; only those the scan saw a DVSEC on are read. */
function cxlMemoryBelow(ctx: StepContext, below: string[]): string | null {
  for (const b of below) {
    if (!ctx.env.topo.device(b)?.extendedCapabilities.some((c) => c.id === R.PCI_EXT_CAP_ID_DVSEC)) continue;
    try {
      const bytes = ctx.access.readConfig(b);
      if (bytes !== null && decodeConfig(bytes).cxlMemEnabled === true) return b;
    } catch {
      // Unreadable now: the scan's word.
      if (ctx.env.topo.device(b)?.cxlMemEnabled === true) return b;
    }
  }
  return null;
}

function useResetSubordinate(ctx: StepContext, bridge: string): boolean {
  if (ctx.env.preferResetSubordinate === false) return false;
  if (kernelBusTooSoon(ctx, bridge) !== null) return false;
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
    const mem = cxlMemoryBelow(ctx, below);
    if (mem !== null) return `refused: ${mem} below ${bridge} is a CXL memory device with Mem_Enable set in its CXL DVSEC (read now): its HDM decoders may be committed and its memory in use`;
    const hp = hotPlugPort(ctx, bridge);
    if (hp !== null) {
      return `refused: ${hp} is a hot-plug port (SltCap Hot-Plug Capable): a raw secondary bus reset${hp === bridge ? ' of it' : ` of ${bridge} reaches it`}, and pciehp would take the link going down for a surprise removal (only pciehp_reset_slot(), reached by the kernel's bus method of a lone function, masks those events)`;
    }
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
    const ltr = bridgeLtrEnabled(ctx, bridge);
    const ctl = ctx.read(bridge, R.PCI_BRIDGE_CONTROL, 2, 'Bridge Control');
    if (ctl & R.PCI_BRIDGE_CTL_BUS_RESET) ctx.note(`Secondary Bus Reset was already set on ${bridge} before we started`);
    // beginReset comes with the write, not before: in real time the write waits for the end of the
    // executor's pass (bus-pulse.ts), and no reset may start after the deadline.
    let asserted = false;
    const pulse: Pulse = {
      assert: () => {
        ctx.beginReset('the secondary bus reset');
        asserted = true;
        ctx.write(bridge, R.PCI_BRIDGE_CONTROL, 2, ctl | R.PCI_BRIDGE_CTL_BUS_RESET, 'Bridge Control');
      },
      // The kernel does not look; a bridge that ignored the write would have us report a reset that never
      // was. A read that fails tells nothing either way.
      check: () => {
        let held: number | null = null;
        try {
          held = ctx.access.readConfigAt(bridge, R.PCI_BRIDGE_CONTROL, 2);
        } catch {
          held = null;
        }
        if (held !== null && held !== 0xffff && !(held & R.PCI_BRIDGE_CTL_BUS_RESET)) {
          ctx.fail('EIO', bridge, 'Secondary Bus Reset does not read back set after the write that asserts it: the bus was not reset');
        }
      },
      deassert: () => {
        if (asserted) deassert(ctx, bridge, ctl & ~R.PCI_BRIDGE_CTL_BUS_RESET);
      },
    };
    // SBR_HOLD_MS (PCI r3.0 7.6.4.2: Trst at least 1 ms; the kernel holds 2). Not cut short by the deadline. In real
    // time set, hold and clear happen in one event-loop turn, together with the other bridges of the
    // wave (bus-pulse.ts): no signal handler, no other step's work and no exit can come between them
    // and leave a bus held in reset.
    if (ctx.clock.virtual) {
      try {
        pulse.assert();
        await ctx.hold('sbr-hold', SBR_HOLD_MS);
        pulse.check();
      } finally {
        pulse.deassert();
      }
    } else {
      const r = await pulseTogether(ctx.clock, pulse);
      if (r.heldMs !== null) ctx.record('sbr-hold', r.heldMs);
      if (!r.ok) throw r.failure;
    }
    const resetAt = ctx.now();
    ctx.phase = 'wait';
    const delayMs = busDelayMs(ctx.step, ctx.layout(bridge));
    await waitSecondaryBus(ctx, bridge, delayMs);
    if (ltr !== null) reenableLtr(ctx, bridge, ltr);
    await quirkDelay(ctx);
    return { roots: ctx.env.topo.dependents(bridge), reason: 'bus reset', giveUp: linkGoneCheck(ctx, bridge), resetAt, delayMs };
  },
};

/** The bridge's DevCtl2 offset when LTR Mechanism Enable is set on it now, else null. */
function bridgeLtrEnabled(ctx: StepContext, bridge: string): number | null {
  const p = ctx.layout(bridge).pcie;
  if (!p || !pcieRegisterImplemented(p, R.PCI_EXP_DEVCTL2)) return null;
  try {
    const v = ctx.access.readConfigAt(bridge, p.offset + R.PCI_EXP_DEVCTL2, 2);
    return v !== 0xffff && v & R.PCI_EXP_DEVCTL2_LTR_EN ? p.offset + R.PCI_EXP_DEVCTL2 : null;
  } catch {
    return null;
  }
}

/**
 * pci_bridge_reconfigure_ltr() (drivers/pci/pcie/aspm.c:1180), which pci_restore_pcie_state() runs
 * before restoring each function below: "Downstream ports reset the LTR enable bit when link goes down"
 * (PCIe r5.0 7.5.3.16). Set it again on the bridge, before any function below gets its LTR enable back.
 */
function reenableLtr(ctx: StepContext, bridge: string, devctl2: number): void {
  try {
    const v = ctx.access.readConfigAt(bridge, devctl2, 2);
    if (v === 0xffff || v & R.PCI_EXP_DEVCTL2_LTR_EN) return;
    ctx.write(bridge, devctl2, 2, v | R.PCI_EXP_DEVCTL2_LTR_EN, 'DevCtl2 (LTR Mechanism Enable)');
    if (!(ctx.access.readConfigAt(bridge, devctl2, 2) & R.PCI_EXP_DEVCTL2_LTR_EN)) ctx.fail('EIO', bridge, 'DevCtl2 LTR Mechanism Enable does not read back set after the bus reset');
  } catch (err) {
    throw err instanceof MethodError ? err : ctx.error('EIO', bridge, `could not re-enable LTR after the bus reset: ${(err as Error).message}`);
  }
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
