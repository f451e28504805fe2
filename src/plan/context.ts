import type { IommuCase, IommuReport } from '../iommu/iommu-report.js';
import { lookup, subjectOfDevice, type EffectiveQuirks } from '../quirks/match.js';
import { cite, type QuirkEntry, type QuirkTable } from '../quirks/quirk-types.js';
import type { ScanDevice, ScanResult } from '../scan/scan-result.js';
import { kernelOmits, resetsDisabled } from './kernel-listing.js';
import { parseSelectors, selects, type Policy } from './policy.js';
import { rawBusRefusal } from './raw-safety.js';
import { decideScope, isBridge, type Scope } from './scope.js';

export interface PlanInput {
  scan: ScanResult;
  iommu: IommuReport;
  quirks: QuirkTable;
  policy: Policy;
}

/** Everything the planner derives once per function before choosing methods. */
export interface PlanContext {
  input: PlanInput;
  devices: ScanDevice[];
  byBdf: Map<string, ScanDevice>;
  /** Position in scan (lspci) order, for stable ordering. */
  order: Map<string, number>;
  scope: Map<string, Scope>;
  quirks: Map<string, EffectiveQuirks>;
  /** DMA faults logged per function (IOMMU report). */
  faults: Map<string, number>;
  /** The case the plan is for: the report's, or on a live system the one it predicts for a capture kernel. */
  planCase: IommuCase;
  /** The IOMMU case per function: its unit's case when the report gives it, else the machine's. */
  caseOf: (bdf: string) => IommuCase;
  /** The machine-wide PM delay some chipset ports impose (quirk d3hot_global), and who imposes it. */
  globalD3hot: { ms: number; bdf: string; entry: QuirkEntry } | null;
  notes: string[];
  busChecks: Map<string, BusCheck>;
}

/** Whether a secondary bus reset of one bridge is allowed, and what it would reset. */
export interface BusCheck {
  bridge: string;
  /** Nothing below the bridge (nor the bridge) forbids being reset: the kernel's `bus` of a lone function may run. */
  ok: boolean;
  /** Every function below the bridge: what the reset clears. */
  radius: string[];
  why: string;
  /**
   * Why a raw reset of the bridge (Bridge Control, `reset_subordinate`) must not run even when `ok`
   * (a hot-plug or CXL port, a driver bound below); null when it may. Set to `why` when not `ok`.
   */
  raw: string | null;
}

export function quirkNote(e: QuirkEntry): string {
  return `quirk ${cite(e)}: ${e.reason}`;
}

export function buildContext(input: PlanInput): PlanContext {
  const only = parseSelectors(input.policy.only);
  const exclude = parseSelectors(input.policy.exclude);
  const devices = input.scan.devices;
  const byBdf = new Map(devices.map((d) => [d.bdf, d]));
  const order = new Map(devices.map((d, i) => [d.bdf, i]));
  const notes: string[] = [];
  for (const s of [...only, ...exclude]) {
    if (!devices.some((d) => selects(s, d))) notes.push(`selector ${s.text} matches no function`);
  }
  // On a live system the cases describe a crash-dump boot that has not happened: plan for the case the
  // IOMMU report predicts a capture kernel would find. In a capture kernel each function has the case
  // of the unit that covers it (1 when none translates it).
  const live = !input.iommu.captureKernel;
  const planCase: IommuCase = live && input.iommu.prediction ? input.iommu.prediction.case : input.iommu.case;
  if (live && input.iommu.prediction) {
    notes.push(`live system: planned for the case a capture kernel would find, ${planCase} (${input.iommu.prediction.basis})`);
  }
  const deviceCase = new Map<string, IommuCase>();
  if (!live) for (const dev of input.iommu.devices) if (dev.case && dev.case !== 'unknown') deviceCase.set(dev.bdf, dev.case);
  const caseOf = (bdf: string): IommuCase => deviceCase.get(bdf) ?? planCase;
  const scope = new Map<string, Scope>();
  const quirks = new Map<string, EffectiveQuirks>();
  let globalD3hot: PlanContext['globalD3hot'] = null;
  for (const d of devices) {
    const eff = lookup(input.quirks, subjectOfDevice(d)).effective;
    quirks.set(d.bdf, eff);
    scope.set(d.bdf, decideScope(d, caseOf(d.bdf), only, exclude, input.policy.all === true, eff.noDma));
    if (eff.d3hotGlobalMs && (!globalD3hot || eff.d3hotGlobalMs.value > globalD3hot.ms)) {
      globalD3hot = { ms: eff.d3hotGlobalMs.value, bdf: d.bdf, entry: eff.d3hotGlobalMs.from };
    }
  }
  if (globalD3hot) {
    notes.push(`${globalD3hot.bdf} raises every PM reset's D3hot delay to ${globalD3hot.ms} ms (${quirkNote(globalD3hot.entry)})`);
  }
  const cut = devices.filter((d) => d.headerType !== null && d.configSize < 256).length;
  if (cut > 0) {
    notes.push(`${cut} function${cut === 1 ? '\'s' : 's\''} config space was read only in part (not root?): capability bits unknown, only the kernel's reset_method is trusted for them`);
  }
  const faults = new Map<string, number>();
  for (const dev of input.iommu.devices) if (dev.faults > 0) faults.set(dev.bdf, (faults.get(dev.bdf) ?? 0) + dev.faults);
  return { input, devices, byBdf, order, scope, quirks, faults, planCase, caseOf, globalD3hot, notes, busChecks: new Map() };
}

/**
 * A secondary bus reset of `bridge` resets every function below it, so it is allowed only when none of
 * them forbids it (no_bus, skip, out of scope, the kernel's listing) and the bridge itself does not (the
 * 6.18 kernel checks only the target function; a NO_BUS_RESET root port such as NVIDIA GB10's is checked
 * here too). A raw reset of the bridge has further conditions (`raw`).
 */
export function busCheck(ctx: PlanContext, bridge: string): BusCheck {
  const cached = ctx.busChecks.get(bridge);
  if (cached) return cached;
  const result = computeBusCheck(ctx, bridge);
  ctx.busChecks.set(bridge, result);
  return result;
}

function computeBusCheck(ctx: PlanContext, bridge: string): BusCheck {
  const pd = ctx.byBdf.get(bridge);
  const no = (why: string, radius: string[] = []): BusCheck => ({ bridge, ok: false, radius, why, raw: why });
  if (!pd) return no(`its upstream bridge ${bridge} is not in the scan`);
  if (!isBridge(pd)) return no(`its parent ${bridge} is not a bridge`);
  const radius = pd.below;
  const ps = ctx.scope.get(bridge)!;
  if (ps.protected) return no(`bridge ${bridge} is ${ps.reason}`, radius);
  const pq = ctx.quirks.get(bridge)!;
  if (pq.noBus.length) return no(`bridge ${bridge} must not reset the bus below it (${quirkNote(pq.noBus[0]!)})`, radius);
  if (pq.skip) return no(`the table says to leave bridge ${bridge} alone (${quirkNote(pq.skip)})`, radius);
  for (const f of radius) {
    const s = ctx.scope.get(f);
    const q = ctx.quirks.get(f);
    if (!s || !q) return no(`${f} below ${bridge} is not in the scan`, radius);
    if (s.protected) return no(`a bus reset of ${bridge} would also reset ${f}, which is out of scope (${s.reason})`, radius);
    if (q.noBus.length) return no(`a bus reset of ${bridge} would also reset ${f}, which must never be below a bus reset (${quirkNote(q.noBus[0]!)})`, radius);
    if (q.skip) return no(`a bus reset of ${bridge} would also reset ${f}, which the table says to skip (${quirkNote(q.skip)})`, radius);
    const fd = ctx.byBdf.get(f)!;
    // A CXL memory device decoding host memory (HDM decoders committed: they live in MMIO, which the scan
    // does not read; Mem_Enable in its CXL DVSEC is what config space shows): a bus reset, plain or
    // cxl_bus, takes that memory away under whoever uses it.
    if (fd.cxlMemEnabled === true) {
      return no(`a bus reset of ${bridge} would also reset ${f}, a CXL memory device with Mem_Enable set in its CXL DVSEC (its HDM decoders may be committed and its memory in use): refused`, radius);
    }
    const kernelSays = resetsDisabled(fd) ?? kernelOmits(fd, 'bus');
    if (kernelSays) return no(`a bus reset of ${bridge} would also reset ${f}: ${kernelSays}`, radius);
  }
  const list = radius.length <= 4 ? radius.join(', ') : `${radius.slice(0, 4).join(', ')} and ${radius.length - 4} more`;
  const why = `secondary bus reset of ${bridge} resets ${radius.length} function${radius.length === 1 ? '' : 's'}: ${list}`;
  return { bridge, ok: true, radius, why, raw: rawBusRefusal(ctx, pd, radius) };
}
