import type { ScanDevice } from '../scan/scan-result.js';
import { quirkNote, type PlanContext } from './context.js';
import type { PlanMethod, PlanWait } from './plan.js';
import { waitMs } from '../config/readiness.js';

/** PCI_PM_D3HOT_WAIT: the kernel's default D3hot delay (drivers/pci/pci.h). */
export const D3HOT_DEFAULT_MS = 10;
/** PCI_PM_D3COLD_WAIT: readiness delay after a bus reset unless a quirk or _DSM says otherwise. */
export const D3COLD_DEFAULT_MS = 100;
/** Conventional PCI: Tpvrh + Trhfa before the first config access after reset (pci_bridge_wait_for_secondary_bus). */
export const CONVENTIONAL_RESET_MS = 1000;

export interface StepTiming {
  waits: PlanWait[];
  delayAfterMs: number;
  d3hotDelayMs: number;
  notes: string[];
}

/** The register-level method a plan method comes to: what the kernel tries first for `kernel`/`vfio`. */
export function underlyingMethod(d: ScanDevice, method: PlanMethod): string {
  if (method.startsWith('kernel:')) return method.slice(7);
  if (method === 'kernel' || method === 'vfio') return (d.resetMethods ?? [])[0] ?? 'unknown';
  return method;
}

/** The D3hot delay of a PM reset of d: max(dev->d3hot_delay, pci_pm_d3hot_delay), as pci_pm_reset() sleeps. */
export function d3hotDelay(ctx: PlanContext, d: ScanDevice): { ms: number; notes: string[] } {
  const q = ctx.quirks.get(d.bdf)!;
  const own = q.d3hotMs ? q.d3hotMs.value : D3HOT_DEFAULT_MS;
  const notes: string[] = [];
  if (q.d3hotMs) notes.push(`D3hot delay ${own} ms (${quirkNote(q.d3hotMs.from)})`);
  const global = ctx.globalD3hot;
  if (global && global.ms > own) {
    notes.push(`D3hot delay raised to ${global.ms} ms machine-wide by ${global.bdf} (${quirkNote(global.entry)})`);
    return { ms: global.ms, notes };
  }
  return { ms: own, notes };
}

/**
 * Waits a step implies, for reports and for the executor's deadline budget: the minimum the spec and
 * the kernel mandate (the readiness poll that follows can take up to 60 s and is not listed).
 * `target` is the function for function-level steps and the bridge for a raw bus reset.
 */
export function stepTiming(ctx: PlanContext, method: PlanMethod, target: ScanDevice, functions: string[]): StepTiming {
  const waits: PlanWait[] = [];
  const notes: string[] = [];
  const fn = method === 'bus' ? null : target;
  const m = fn ? underlyingMethod(fn, method) : 'bus';
  const d3 = d3hotDelay(ctx, fn ?? target);
  if (m === 'flr' || m === 'af_flr') {
    if (m === 'flr' && fn?.pcie?.transactionsPending) {
      waits.push({ what: 'pending-transactions', ms: 700 });
      notes.push('DevSta Transactions Pending is set now: up to 700 ms of polling before the FLR (pci_wait_for_pending)');
    }
    const w = fn ? flrReadiness(fn) : { ms: 100, note: null };
    waits.push({ what: m, ms: w.ms });
    if (w.note) notes.push(w.note);
  } else if (m === 'pm') {
    waits.push({ what: 'd3hot', ms: d3.ms }, { what: 'd3hot->d0', ms: d3.ms });
    notes.push(...d3.notes);
  } else if (m === 'bus' || m === 'cxl_bus') {
    const bridge = method === 'bus' ? target : ctx.byBdf.get(target.parent ?? '') ?? null;
    waits.push({ what: 'bus-reset', ms: 2 });
    if (bridge) {
      const w = secondaryBusWait(ctx, bridge, method === 'bus');
      waits.push({ what: 'secondary-bus', ms: w.ms });
      notes.push(w.note);
      const nested = nestedBusWait(ctx, bridge);
      if (nested.ms > 0) {
        waits.push({ what: 'nested-secondary-bus', ms: nested.ms });
        notes.push(...nested.notes);
      }
    }
  }
  let delayAfterMs = 0;
  const consider = method === 'bus' ? [target.bdf, ...functions] : functions;
  for (const b of consider) {
    const q = ctx.quirks.get(b);
    if (q?.waitMs && q.waitMs.value > delayAfterMs) {
      delayAfterMs = q.waitMs.value;
      notes.push(`waits ${delayAfterMs} ms after the reset for ${b} (${quirkNote(q.waitMs.from)})`);
    }
  }
  if (delayAfterMs > 0) waits.push({ what: 'quirk-delay', ms: delayAfterMs });
  return { waits, delayAfterMs, d3hotDelayMs: d3.ms, notes };
}

/**
 * The wait after an FLR before the first config access. pcie_flr() (drivers/pci/pci.c:4477) sleeps 100 ms
 * unless dev->imm_ready (Status bit 0, latched by pci_imm_ready_init(), drivers/pci/probe.c:2630). The
 * 6.18 kernel does not read the Readiness Time Reporting capability; where it is present and valid its
 * FLR Time is used instead, shorter or longer, and the plan says which.
 */
export function flrReadiness(fn: ScanDevice): { ms: number; note: string | null } {
  if (fn.immediateReadiness) return { ms: 0, note: `${fn.bdf} has Immediate Readiness (Status bit 0): no 100 ms wait after the FLR, as pcie_flr() skips it` };
  const t = fn.readiness;
  if (t?.valid && t.flrMs !== null) {
    const ms = waitMs(t.flrMs);
    const how = ms < 100 ? 'shorter than' : ms > 100 ? 'longer than' : 'the same as';
    return { ms, note: `${fn.bdf} reports its FLR Time in Readiness Time Reporting: ${ms} ms after the FLR, ${how} the spec's 100 ms (the 6.18 kernel ignores the capability and waits 100)` };
  }
  return { ms: 100, note: null };
}

/**
 * A longer readiness delay below a bridge that every device on its secondary bus reports (Readiness Time
 * Reporting: the larger of Reset Time and DL_Up Time), or null. Never shorter than the d3cold delay: the
 * executor floors a bus wait at 100 ms.
 */
function busReadiness(ctx: PlanContext, bridge: ScanDevice, delay: number): { delay: number; note: string } | null {
  let max = 0;
  let count = 0;
  for (const c of bridge.below) {
    const cd = ctx.byBdf.get(c);
    if (!cd || cd.parent !== bridge.bdf || cd.physfn !== null) continue;
    count++;
    const t = cd.readiness;
    if (!t?.valid) return null;
    const ms = Math.max(t.resetMs ?? 0, t.dlUpMs ?? 0);
    max = Math.max(max, waitMs(ms));
  }
  if (count === 0 || max <= delay) return null;
  return { delay: max, note: ` (Readiness Time Reporting below ${bridge.bdf}: its devices need up to ${max} ms after reset or link-up, longer than ${delay} ms)` };
}

/** The largest d3cold delay on a bridge's secondary bus (pci_bus_max_d3cold_delay(), drivers/pci/pci.c:4773), and the quirk behind it. */
function busD3cold(ctx: PlanContext, bridge: ScanDevice): { delay: number; from: string } {
  let delay = D3COLD_DEFAULT_MS;
  let from = '';
  for (const c of bridge.below) {
    const cd = ctx.byBdf.get(c);
    if (!cd || cd.parent !== bridge.bdf) continue;
    const q = ctx.quirks.get(c);
    if (q?.d3coldMs && q.d3coldMs.value > delay) {
      delay = q.d3coldMs.value;
      from = ` (${c}: ${quirkNote(q.d3coldMs.from)})`;
    }
  }
  return { delay, from };
}

/** pcie_downstream_port() (drivers/pci/pci.h:326): root port, switch downstream port, PCI/PCI-X-to-PCIe bridge. */
function downstreamPort(d: ScanDevice): boolean {
  return d.pcieType === 'root_port' || d.pcieType === 'downstream_port' || d.pcieType === 'pci_to_pcie_bridge';
}

/** A bridge whose secondary bus is conventional PCI: no PCIe capability, or a PCIe-to-PCI/PCI-X bridge. */
export function conventionalBelow(d: ScanDevice): boolean {
  return d.headerType === 1 && (d.pcie === null || d.pcieType === 'pcie_to_pci_bridge');
}

/**
 * pci_bridge_wait_for_secondary_bus() (drivers/pci/pci.c:4805, Linux 6.18.19): delay = the largest
 * d3cold_delay on the secondary bus (100 ms unless a quirk says otherwise); a bridge without a PCIe
 * capability waits 1000 + delay (Tpvrh + Trhfa); a PCIe bridge that is not a downstream port (a switch
 * upstream port, a PCIe-to-PCI bridge) waits nothing; a downstream port whose speed
 * (pcie_get_speed_cap(), pcie.ts supportedSpeed()) is at most 5 GT/s waits delay; a faster one, or one of
 * unknown speed, with DLL Link Active reporting waits 20 ms, the link, then delay; without it 1000 + delay.
 *
 * `raw`: what the executor waits after its own Bridge Control reset (wait-secondary-bus.ts): the same,
 * except that below a PCIe-to-PCI bridge it waits Tpvrh + Trhfa, 1000 + delay, as PCI r3.0 4.3.2 asks
 * (the kernel's 0 there lets pci_bus_restore_locked() write BARs into devices still in their Trhfa
 * window, issue 12 item 1), and below a switch upstream port it waits delay before polling.
 */
export function secondaryBusWait(ctx: PlanContext, bridge: ScanDevice, raw: boolean): { ms: number; note: string } {
  const d3 = busD3cold(ctx, bridge);
  const rtr = busReadiness(ctx, bridge, d3.delay);
  const delay = rtr ? rtr.delay : d3.delay;
  const from = rtr ? `${d3.from}${rtr.note}` : d3.from;
  const pcie = bridge.pcie;
  if (pcie === null) return { ms: CONVENTIONAL_RESET_MS + delay, note: `conventional PCI bridge ${bridge.bdf}: ${CONVENTIONAL_RESET_MS} + ${delay} ms before config access${from}` };
  if (bridge.pcieType === 'pcie_to_pci_bridge') {
    if (raw) return { ms: CONVENTIONAL_RESET_MS + delay, note: `conventional bus below PCIe-to-PCI bridge ${bridge.bdf}: ${CONVENTIONAL_RESET_MS} + ${delay} ms before config access (Trhfa; the 6.18 kernel itself waits nothing here)${from}` };
    return { ms: 0, note: `the kernel waits nothing below PCIe-to-PCI bridge ${bridge.bdf} (not a downstream port)` };
  }
  if (!downstreamPort(bridge)) {
    if (raw) return { ms: delay, note: `${bridge.bdf} is not a downstream port (the kernel waits nothing): ${delay} ms, then poll for readiness${from}` };
    return { ms: 0, note: `the kernel waits nothing below ${bridge.bdf} (not a downstream port), then restores` };
  }
  const speed = pcie.supportedLinkSpeed;
  if (speed !== null && speed <= 2) return { ms: delay, note: `port ${bridge.bdf} at most 5 GT/s: ${delay} ms, then poll for readiness${from}` };
  const what = speed === null ? 'of unknown speed (treated as faster than 5 GT/s, as the kernel does)' : 'above 5 GT/s';
  if (pcie.dllLinkActiveReporting) return { ms: 20 + delay, note: `port ${bridge.bdf} ${what}: 20 ms, wait for Data Link Layer Link Active (up to 1 s), then ${delay} ms${from}` };
  return { ms: CONVENTIONAL_RESET_MS + delay, note: `port ${bridge.bdf} ${what} without DLL Link Active reporting: ${CONVENTIONAL_RESET_MS} + ${delay} ms${from}` };
}

/**
 * The waits for bridges below the reset one: pci_bus_restore_locked() (drivers/pci/pci.c:5546) restores
 * each bridge, then runs pci_bridge_wait_for_secondary_bus() for it before restoring what is below, and
 * so does the executor (bring-up.ts). Branches come back concurrently: the longest chain counts.
 * Below a PCIe-to-PCI or conventional bridge the executor waits out 1000 + delay from the reset; this
 * budgets all of it (an upper bound).
 */
export function nestedBusWait(ctx: PlanContext, bridge: ScanDevice, depth = 0): { ms: number; notes: string[] } {
  if (depth > 32) return { ms: 0, notes: [] };
  let best = { ms: 0, notes: [] as string[] };
  for (const c of bridge.below) {
    const cd = ctx.byBdf.get(c);
    if (!cd || cd.parent !== bridge.bdf || cd.headerType !== 1 || cd.below.length === 0) continue;
    const own = conventionalBelow(cd) ? secondaryBusWait(ctx, cd, true) : downstreamPort(cd) ? secondaryBusWait(ctx, cd, true) : { ms: 0, note: '' };
    const deeper = nestedBusWait(ctx, cd, depth + 1);
    const ms = own.ms + deeper.ms;
    if (ms > best.ms) best = { ms, notes: [`after restoring ${cd.bdf}: ${own.note}`, ...deeper.notes] };
  }
  return best;
}
