import { AccessError } from '../access/access-error.js';
import type { RegisterLayout } from '../config/register-layout.js';
import { atMost5GT, isDownstreamPort } from '../config/pcie.js';
import * as R from '../config/registers.js';
import type { StepContext } from './step-context.js';

/** PCI_PM_D3COLD_WAIT: what a function below a reset bridge needs before its first config request (ms). */
export const D3COLD_DELAY_MS = 100;
/** Tpvrh + Trhfa before the first config access below a conventional PCI bus (PCI r3.0 4.3.2). */
export const CONVENTIONAL_RESET_MS = 1000;
/** PCIE_LINK_RETRAIN_TIMEOUT_MS */
export const LINK_TIMEOUT_MS = 1000;

/**
 * The mandated part of pci_bridge_wait_for_secondary_bus() after a secondary bus reset, before the first
 * config request to anything below. `delayMs` is the largest d3cold delay on the bus (100 ms; a quirk
 * may raise it).
 *
 * - conventional PCI bridge: Tpvrh + Trhfa, 1000 ms + delay;
 * - port at 5 GT/s or less: delay, then polling (waitReady);
 * - faster port reporting Data Link Layer Link Active: 20 ms, poll DLLLA every 1 ms up to 1 s (fail
 *   early, as the kernel does, when the link does not train), then delay;
 * - faster port without DLLLA reporting: 1000 ms + delay;
 * - PCIe-to-PCI bridge: its secondary bus is conventional PCI, so Trhfa as for a conventional bridge,
 *   1000 ms + delay (the 6.18 kernel waits nothing there: it is not a downstream port; the planner budgets
 *   the same);
 * - any other bridge that is not a downstream port (a switch upstream port): delay, then polling.
 */
export async function waitSecondaryBus(ctx: StepContext, bridge: string, delayMs: number, what = 'secondary-bus'): Promise<void> {
  const p = ctx.layout(bridge).pcie;
  if (!p || p.type === 'pcie_to_pci_bridge') {
    await ctx.wait(what, CONVENTIONAL_RESET_MS + delayMs);
    return;
  }
  const downstream = p.type === 'root_port' || p.type === 'downstream_port' || p.type === 'pci_to_pcie_bridge';
  if (!downstream || atMost5GT(p.maxSpeed)) {
    await ctx.wait(what, delayMs);
    return;
  }
  if (!p.dllLinkActiveReporting) {
    await ctx.wait(what, LINK_TIMEOUT_MS + delayMs);
    return;
  }
  await ctx.wait('link-detect', 20);
  const start = ctx.now();
  // A read that fails is retried like one that finds the link down, for the same 1 s: giving up at once
  // would send the cleanup's config requests below the bridge inside the wait the spec mandates.
  let lastError: AccessError | null = null;
  let answered = false;
  for (;;) {
    let sta = 0xffff;
    try {
      sta = ctx.access.readConfigAt(bridge, p.offset + R.PCI_EXP_LNKSTA, 2);
      answered = true;
    } catch (err) {
      lastError = err instanceof AccessError ? err : new AccessError('EIO', bridge, (err as Error)?.message ?? String(err));
    }
    if (sta !== 0xffff && sta & R.PCI_EXP_LNKSTA_DLLLA) break;
    if (ctx.now() - start >= LINK_TIMEOUT_MS) {
      const tail = lastError ? ` (last LnkSta read failed: ${lastError.message})` : '';
      // Every read failed: the reason is the read, not the link.
      ctx.fail(!answered && lastError ? lastError.code : 'ENOTTY', bridge, `Data Link Layer Link Active not set in ${LINK_TIMEOUT_MS} msec${tail}`);
    }
    await ctx.poll('link-active', 1);
  }
  await ctx.wait(what, delayMs);
}

/**
 * After a bridge below the reset one is restored, before anything below it is touched: what
 * pci_bus_restore_locked() (drivers/pci/pci.c:5546) does with pci_bridge_wait_for_secondary_bus() for it.
 * A nested downstream port's link trained only after the one above it: the same wait as for the reset
 * bridge (delay, or the link then delay above 5 GT/s). Below a PCIe-to-PCI or conventional bridge the
 * rest of Tpvrh + Trhfa, 1000 ms + delay from the reset (the kernel waits nothing for a PCIe-to-PCI
 * bridge: issue 12 item 1). A switch upstream port: nothing, as the kernel (its bus is internal).
 */
export async function waitNestedBus(ctx: StepContext, bridge: string, resetAt: number, delayMs: number): Promise<void> {
  const p = ctx.layout(bridge).pcie;
  if (!p || p.type === 'pcie_to_pci_bridge') {
    const left = resetAt + CONVENTIONAL_RESET_MS + delayMs - ctx.now();
    if (left > 0) await ctx.wait('nested-secondary-bus', left);
    return;
  }
  if (!isDownstreamPort(p.type)) return;
  await waitSecondaryBus(ctx, bridge, delayMs, 'nested-secondary-bus');
}

/**
 * For ports at 5 GT/s or less the kernel stops waiting after 1 s when the port reports DLLLA and the link
 * is down: the device is gone. Returns that check for waitReady().
 */
/**
 * The readiness delay (the kernel's d3cold_delay, 100 ms unless a quirk raises it) behind a plan's
 * `secondary-bus` wait, which the planner computes with the same rules as waitSecondaryBus().
 */
export function secondaryBusDelay(layout: RegisterLayout, plannedMs: number | undefined): number {
  if (plannedMs === undefined) return D3COLD_DELAY_MS;
  const p = layout.pcie;
  let delay: number;
  if (!p || p.type === 'pcie_to_pci_bridge') delay = plannedMs - CONVENTIONAL_RESET_MS;
  else if (atMost5GT(p.maxSpeed) || (p.type !== 'root_port' && p.type !== 'downstream_port' && p.type !== 'pci_to_pcie_bridge')) delay = plannedMs;
  else if (p.dllLinkActiveReporting) delay = plannedMs - 20;
  else delay = plannedMs - LINK_TIMEOUT_MS;
  return Math.max(D3COLD_DELAY_MS, delay);
}

export function linkGoneCheck(ctx: StepContext, bridge: string): (elapsed: number) => string | null {
  const p = ctx.layout(bridge).pcie;
  if (!p || !p.dllLinkActiveReporting || !atMost5GT(p.maxSpeed)) return () => null;
  return (elapsed) => {
    if (elapsed < LINK_TIMEOUT_MS - D3COLD_DELAY_MS) return null;
    try {
      const sta = ctx.access.readConfigAt(bridge, p.offset + R.PCI_EXP_LNKSTA, 2);
      return sta & R.PCI_EXP_LNKSTA_DLLLA ? null : `link below ${bridge} is down ${Math.round(elapsed)}ms after the bus reset (device gone)`;
    } catch {
      return null;
    }
  };
}
