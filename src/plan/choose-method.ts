import type { QuirkMethod } from '../quirks/quirk-types.js';
import type { ScanDevice } from '../scan/scan-result.js';
import { busCheck, quirkNote, type PlanContext } from './context.js';
import { configCut, kernelOmits, resetsDisabled } from './kernel-listing.js';
import type { PlanMethod } from './plan.js';
import { chelsioT4 } from './device-guards.js';
import { rawFunctionRefusal } from './raw-safety.js';
import { underlyingMethod } from './waits.js';

export { configCut } from './kernel-listing.js';

/**
 * Method choice for one function: the kernel's order (device_specific, flr, af_flr, pm, bus) filtered by
 * capability bits, topology and quirks, the table's `prefer=` list first. A method the kernel offers in
 * `reset_method` (listed and not stale) is done through the kernel's `reset` file, which saves and
 * restores state: `kernel` when the kernel's own chain starts with it and holds nothing we rule out,
 * `kernel:<m>` otherwise (select m in reset_method first). A raw register reset is the last resort, and
 * never against the kernel's listing (kernel-listing.ts), under a bound driver, or a bus reset below a
 * hot-plug or CXL port (raw-safety.ts).
 */

/**
 * What the planner tries, in this order unless the table prefers otherwise: pci_reset_fn_methods[]
 * (drivers/pci/pci.c:5158, Linux 6.18.19): device_specific, acpi (the platform's _RST), flr, af_flr, pm,
 * bus (cxl_bus is chosen in place of bus below a CXL port).
 */
export const KERNEL_ORDER = ['device_specific', 'acpi', 'flr', 'af_flr', 'pm', 'bus'] as const;

export interface Verdict {
  /** What was tried: a method name, a `prefer=` item. */
  candidate: string;
  ok: boolean;
  /** The plan method it comes to when ok. */
  method: PlanMethod | null;
  /** For `bus`: the bridge reset (raw) or the function itself (kernel's reset file). */
  target: string | null;
  /** For `bus`: everything the reset clears. */
  radius: string[];
  why: string;
}

export interface Evaluation {
  bdf: string;
  /** Why the candidates come in this order. */
  orderWhy: string;
  verdicts: Verdict[];
  chosen: Verdict | null;
  fallbacks: PlanMethod[];
}

/**
 * Methods whose reset of a PF takes its VFs along: FLR, AF FLR and a PM reset (D3hot->D0 with
 * No_Soft_Reset clear) return the PF to its defaults, VF Enable included, so its VFs go away.
 */
const RESETS_VFS = new Set(['flr', 'af_flr', 'pm']);

/** Methods the kernel lists that will work (listed, not stale; a cut config cannot tell stale but for bus). */
function kernelOffers(d: ScanDevice, m: string): boolean {
  if (!d.resetFile || d.resetMethods === null || !d.resetMethods.includes(m)) return false;
  return !d.staleResetMethods.includes(m) || (configCut(d) && m !== 'bus' && m !== 'cxl_bus');
}

/**
 * Whether a method in the kernel's chain is one we accept for this function. A stale one fails harmlessly
 * (-ENOTTY) and the chain goes on, unless the table told us to trust the kernel's listing (then only a
 * stale bus, a topology fact, is still taken as failing).
 */
function kernelMethodAcceptable(ctx: PlanContext, d: ScanDevice, m: string, trustListing = configCut(d)): boolean {
  const busLike = m === 'bus' || m === 'cxl_bus';
  if (d.staleResetMethods.includes(m) && (busLike || !trustListing)) return true;
  const q = ctx.quirks.get(d.bdf)!;
  switch (m) {
    case 'device_specific':
    case 'acpi':
      return true;
    case 'flr':
    case 'af_flr':
      return q.noFlr.length === 0 && chelsioT4(d) === null;
    case 'pm':
      return q.noPm.length === 0;
    case 'bus':
    case 'cxl_bus': {
      if (d.parent === null) return false;
      if (kernelBusRestoresTooSoon(ctx, d.parent) !== null) return false;
      const b = busCheck(ctx, d.parent);
      if (!b.ok || b.radius.length !== 1 || b.radius[0] !== d.bdf) return false;
      // Below a CXL port, a kernel without cxl_bus does not know SBR can be masked: its bus "succeeds" doing nothing.
      return !(m === 'bus' && ctx.byBdf.get(d.parent)?.cxlPortDvsec != null && !(d.resetMethods ?? []).includes('cxl_bus'));
    }
    default:
      return false;
  }
}

/** `kernel` when the kernel's chain starts with m and holds nothing we rule out; else `kernel:m`. */
function kernelForm(ctx: PlanContext, d: ScanDevice, m: string): PlanMethod {
  const listing = d.resetMethods ?? [];
  if (listing[0] === m && listing.every((k) => k === m || kernelMethodAcceptable(ctx, d, k))) return 'kernel';
  return `kernel:${m}`;
}

function kernelNote(d: ScanDevice, m: string, method: PlanMethod): string {
  const listing = (d.resetMethods ?? []).join(' ');
  if (method === 'kernel') return `the kernel offers ${m} first in reset_method "${listing}": write 1 to its reset file (the kernel saves and restores state)`;
  return `the kernel offers ${m} in reset_method "${listing}": select ${m} there, then write 1 to reset (the kernel saves and restores state)`;
}

function rawVerdict(ctx: PlanContext, d: ScanDevice, m: 'flr' | 'af_flr' | 'pm'): Verdict {
  const q = ctx.quirks.get(d.bdf)!;
  const no = (why: string): Verdict => ({ candidate: m, ok: false, method: null, target: null, radius: [], why });
  if (configCut(d)) {
    // Without the capability bits only the kernel's word is left; never a raw reset on a guess.
    const forbid = m === 'pm' ? q.noPm[0] : q.noFlr[0];
    const cut = `config space read only to ${d.configSize} bytes, so its capability bits are unknown (read as root)`;
    if (!kernelOffers(d, m)) return no(`${cut}, and the kernel does not list ${m}`);
    if (forbid) return no(`forbidden: ${quirkNote(forbid)}`);
    const t4 = m === 'pm' ? null : chelsioT4(d);
    if (t4) return no(`forbidden: ${t4}`);
    const method = kernelForm(ctx, d, m);
    return { candidate: m, ok: true, method, target: d.bdf, radius: [d.bdf], why: `${cut}; ${kernelNote(d, m, method)}` };
  }
  let capability: string;
  if (m === 'flr') {
    if (d.flr) capability = 'DevCap FLR+';
    else if (q.assumeFlr && d.pcie !== null) capability = `DevCap FLR- but it does FLR (${quirkNote(q.assumeFlr)})`;
    else return no(d.pcie === null ? 'no PCI Express capability, so no FLR' : 'DevCap FLR-: no function level reset');
    if (q.noFlr.length) return no(`forbidden: ${quirkNote(q.noFlr[0]!)}`);
    const t4 = chelsioT4(d);
    if (t4) return no(`forbidden: ${t4}`);
  } else if (m === 'af_flr') {
    if (!d.af) return no('no Advanced Features capability');
    const t4 = chelsioT4(d);
    if (t4) return no(`forbidden: ${t4}`);
    if (!d.afFlr) return no(`AF capability without ${d.af.tp ? '' : 'TP'}${!d.af.tp && !d.af.flr ? ' and ' : ''}${d.af.flr ? '' : 'FLR'}`);
    capability = 'AF capability with TP and FLR';
    if (q.noFlr.length) return no(`forbidden: ${quirkNote(q.noFlr[0]!)}`);
  } else {
    if (!d.pm) return no('no usable PM capability');
    if (d.pm.noSoftReset) return no('PMCSR No_Soft_Reset+: D3hot->D0 keeps its state, so a PM reset resets nothing');
    capability = `PM capability v${d.pm.version}, No_Soft_Reset-`;
    if (q.noPm.length) return no(`forbidden: ${quirkNote(q.noPm[0]!)}`);
  }
  if (kernelOffers(d, m)) {
    const method = kernelForm(ctx, d, m);
    return { candidate: m, ok: true, method, target: d.bdf, radius: [d.bdf], why: `${capability}; ${kernelNote(d, m, method)}` };
  }
  const omitted = kernelOmits(d, m);
  if (omitted) return no(`forbidden: ${omitted}`);
  const kernelSays = d.resetMethods === null ? 'no reset_method file' : d.staleResetMethods.includes(m) ? `the kernel lists ${m} but it would fail` : `the kernel does not offer ${m}`;
  const refusal = rawFunctionRefusal(ctx, d, m);
  if (refusal) return no(`${capability}; ${kernelSays}, so only a raw ${m} is left, and ${refusal}`);
  return { candidate: m, ok: true, method: m, target: d.bdf, radius: [d.bdf], why: `${capability}; ${kernelSays}: raw register reset with config save/restore` };
}

/** Why the kernel's `m` (bus or cxl_bus) cannot be run through the function's reset file. */
function kernelMissing(d: ScanDevice, m: string): string {
  if (!d.resetFile) return 'it has no reset file';
  if (d.resetMethods === null) return 'no reset_method file to select it in';
  if (d.resetMethods.includes(m)) return `the kernel lists ${m} but it would fail`;
  return `the kernel does not list ${m} in reset_method "${d.resetMethods.join(' ')}"`;
}

/**
 * Why the kernel's own bus reset of `bridge` (`bus` through a function's reset file, or the bridge's
 * `reset_subordinate`) would restore config too soon, or null. __pci_reset_bus() and
 * pci_reset_bus_function() wait with pci_bridge_wait_for_secondary_bus() (drivers/pci/pci.c:4805), which
 * returns 0 at once for a PCIe-to-PCI bridge (not pcie_downstream_port(), pci.c:4865); then
 * pci_bus_restore_locked() (pci.c:5546) writes BARs and Command ~2 ms after the reset, while conventional
 * devices are still in their ~1 s Trhfa window (PCI r3.0 4.3.2) and drop the writes. The same holds for a
 * PCIe-to-PCI bridge anywhere below `bridge` (its own wait is skipped the same way).
 */
export function kernelBusRestoresTooSoon(ctx: PlanContext, bridge: string): string | null {
  const bd = ctx.byBdf.get(bridge);
  if (!bd) return null;
  for (const b of [bd, ...bd.below.map((x) => ctx.byBdf.get(x)).filter((x): x is ScanDevice => x !== undefined)]) {
    if (b.pcieType !== 'pcie_to_pci_bridge' || b.below.length === 0) continue;
    return `${b.bdf} is a PCIe-to-PCI bridge: the kernel's bus reset waits nothing below it (pci_bridge_wait_for_secondary_bus() skips bridges that are not downstream ports) and restores config ~2 ms after the reset, inside the conventional devices' ~1 s Trhfa window, where writes are dropped; a raw reset that holds 1000 ms + the d3cold delay and restores itself is used instead`;
  }
  return null;
}

function busVerdict(ctx: PlanContext, d: ScanDevice): Verdict {
  const no = (why: string, radius: string[] = []): Verdict => ({ candidate: 'bus', ok: false, method: null, target: null, radius, why });
  if (d.parent === null) return no('on a root bus: there is no bridge above it to reset');
  const b = busCheck(ctx, d.parent);
  if (!b.ok) return no(b.why, b.radius);
  const bridge = ctx.byBdf.get(d.parent)!;
  const alone = b.radius.length === 1 && b.radius[0] === d.bdf;
  // Below a CXL port only cxl_bus is sure to reset: it unmasks SBR in the port's DVSEC first (bus returns ENOTTY while masked).
  const km = bridge.cxlPortDvsec !== null ? 'cxl_bus' : 'bus';
  const tooSoon = kernelBusRestoresTooSoon(ctx, d.parent);
  if (alone && kernelOffers(d, km) && tooSoon === null) {
    const method = kernelForm(ctx, d, km);
    const via =
      km === 'cxl_bus'
        ? `; ${d.parent} is a CXL port: cxl_bus unmasks SBR in its CXL Port DVSEC, resets, and masks it again`
        : bridge.pcie?.hotPlugCapable
          ? `; ${d.parent} is a hot-plug port: the kernel resets the slot through pciehp's reset_slot, which masks the link events`
          : '';
    return { candidate: 'bus', ok: true, method, target: d.bdf, radius: b.radius, why: `alone below ${d.parent}; ${kernelNote(d, km, method)}${via}` };
  }
  if (b.raw !== null) return no(alone ? `${b.raw}; and the kernel's ${km} through ${d.bdf}'s reset file is not available: ${tooSoon ?? kernelMissing(d, km)}` : b.raw, b.radius);
  const stale = d.staleResetMethods.includes('bus') ? ` (the kernel lists bus for ${d.bdf} but it would fail: functions share its bus)` : '';
  const soon = tooSoon !== null && alone && kernelOffers(d, km) ? `; not the kernel's ${km}: ${tooSoon}` : '';
  return { candidate: 'bus', ok: true, method: 'bus', target: d.parent, radius: b.radius, why: `${b.why}${stale}${soon}` };
}

export const NO_DEVICE_SPECIFIC = 'the kernel has no device-specific reset for it';
export const NO_ACPI = 'the kernel lists no ACPI _RST for it';

function deviceSpecificVerdict(ctx: PlanContext, d: ScanDevice): Verdict {
  if (!kernelOffers(d, 'device_specific')) {
    return { candidate: 'device_specific', ok: false, method: null, target: null, radius: [], why: NO_DEVICE_SPECIFIC };
  }
  const method = kernelForm(ctx, d, 'device_specific');
  return { candidate: 'device_specific', ok: true, method, target: d.bdf, radius: [d.bdf], why: `only the kernel can run it; ${kernelNote(d, 'device_specific', method)}` };
}

/**
 * `acpi`: the platform's _RST, evaluated by pci_dev_acpi_reset() (drivers/pci/pci-acpi.c); second in
 * pci_reset_fn_methods[], above flr. Only the kernel can run it, and only where it lists it.
 */
function acpiVerdict(ctx: PlanContext, d: ScanDevice): Verdict {
  if (!kernelOffers(d, 'acpi')) return { candidate: 'acpi', ok: false, method: null, target: null, radius: [], why: NO_ACPI };
  const method = kernelForm(ctx, d, 'acpi');
  return { candidate: 'acpi', ok: true, method, target: d.bdf, radius: [d.bdf], why: `the platform's ACPI _RST, ranked above flr by the kernel (pci_reset_fn_methods[]); ${kernelNote(d, 'acpi', method)}` };
}

/** `prefer=kernel` / `kernel:<m>` / `vfio`: the table trusts the kernel's listing over our reading of config space, except for bus. */
function preferredKernelVerdict(ctx: PlanContext, d: ScanDevice, item: QuirkMethod): Verdict {
  const q = ctx.quirks.get(d.bdf)!;
  const listing = d.resetFile ? (d.resetMethods ?? []) : [];
  const no = (why: string): Verdict => ({ candidate: item, ok: false, method: null, target: null, radius: [], why });
  const from0 = (qq: typeof q): string => quirkNote(qq.prefer!.from);
  // The agent never rebinds a driver (in a capture kernel the one bound may serve the dump target).
  if (item === 'vfio' && d.driver !== 'vfio-pci') return no(`VFIO_DEVICE_RESET needs the function bound to vfio-pci (bound: ${d.driver ?? 'no driver'})`);
  // A kernel older than 5.15 has `reset` but no `reset_method`: its chain is fixed, pci_reset_fn_methods[]
  // in order, and pci_dev_specific_reset() comes first and claims every device of pci_dev_reset_methods[]
  // (drivers/pci/quirks.c), which is what a `kernel:device_specific` entry of the table says it is in.
  if (item === 'kernel:device_specific' && d.resetFile && d.resetMethods === null) {
    return { candidate: item, ok: true, method: 'kernel', target: d.bdf, radius: [d.bdf], why: `the table says the kernel has a device-specific reset for it (${from0(q)}); no reset_method file (kernel older than 5.15): its plain reset file runs the fixed chain, which starts with device_specific` };
  }
  if (listing.length === 0) return no(d.resetFile ? 'the kernel lists no reset method' : 'the kernel has no reset file for it');
  const trusted = (k: string): boolean => (k === 'bus' || k === 'cxl_bus' ? kernelOffers(d, k) : listing.includes(k));
  const usable = (k: string): boolean => trusted(k) && kernelMethodAcceptable(ctx, d, k, true);
  const from = `${quirkNote(q.prefer!.from)}`;
  if (item === 'kernel' || item === 'vfio') {
    const firstUsable = listing.find(usable);
    if (!firstUsable) return no(`no method in reset_method "${listing.join(' ')}" is usable here`);
    // The whole chain is safe to hand over when every listed method is acceptable or fails harmlessly.
    const whole = listing.every((k) => kernelMethodAcceptable(ctx, d, k, true));
    if (item === 'vfio') {
      if (!whole) return no(`VFIO_DEVICE_RESET runs the kernel's whole chain "${listing.join(' ')}", which holds a method ruled out here`);
      return { candidate: item, ok: true, method: 'vfio', target: d.bdf, radius: [d.bdf], why: `the table prefers VFIO (${from}); VFIO_DEVICE_RESET runs the kernel chain "${listing.join(' ')}" (needs the function bound to vfio-pci)` };
    }
    const method: PlanMethod = whole && listing[0] === firstUsable ? 'kernel' : `kernel:${firstUsable}`;
    return { candidate: item, ok: true, method, target: d.bdf, radius: [d.bdf], why: `the table prefers the kernel's reset (${from}); reset_method "${listing.join(' ')}"` };
  }
  const m = item.slice('kernel:'.length);
  if (!trusted(m)) return no(m === 'bus' && listing.includes('bus') ? 'the kernel lists bus but it would fail' : `the kernel does not list ${m}`);
  if (!kernelMethodAcceptable(ctx, d, m, true)) return no(`${m} is ruled out here (a quirk forbids it, or a bus reset would reach other functions)`);
  return { candidate: item, ok: true, method: `kernel:${m}`, target: d.bdf, radius: [d.bdf], why: `the table prefers the kernel's ${m} (${from}); reset_method "${listing.join(' ')}"` };
}

/** Evaluate every candidate for one in-scope function, in order, and pick the first that is allowed. */
export function evaluate(ctx: PlanContext, d: ScanDevice): Evaluation {
  const disabled = resetsDisabled(d);
  if (disabled) {
    const v: Verdict = { candidate: 'reset_method', ok: false, method: null, target: null, radius: [], why: disabled };
    return { bdf: d.bdf, orderWhy: 'none: the kernel\'s listing rules out every method', verdicts: [v], chosen: null, fallbacks: [] };
  }
  const q = ctx.quirks.get(d.bdf)!;
  const order: string[] = [];
  let orderWhy = 'the kernel\'s order: device_specific, acpi, flr, af_flr, pm, bus';
  if (q.prefer) {
    order.push(...q.prefer.value);
    orderWhy = `${q.prefer.value.join(', ')} first, as ${quirkNote(q.prefer.from)}; then the kernel's order`;
  }
  for (const m of KERNEL_ORDER) if (!order.includes(m)) order.push(m);

  const verdicts: Verdict[] = order.map((c) => {
    if (c === 'device_specific') return deviceSpecificVerdict(ctx, d);
    if (c === 'acpi') return acpiVerdict(ctx, d);
    if (c === 'flr' || c === 'af_flr' || c === 'pm') return rawVerdict(ctx, d, c);
    if (c === 'bus') return busVerdict(ctx, d);
    return preferredKernelVerdict(ctx, d, c as QuirkMethod);
  });
  const chosenIndex = verdicts.findIndex((v) => v.ok);
  const chosen = chosenIndex >= 0 ? verdicts[chosenIndex]! : null;
  return { bdf: d.bdf, orderWhy, verdicts, chosen, fallbacks: chosen ? fallbacksFor(ctx, d, chosen, verdicts.slice(chosenIndex + 1)) : [] };
}

/**
 * Whether the executor may run raw method m on d as a fallback: the conditions a raw verdict checks
 * (kernel omission, bound drivers) and, for `bus` (the parent bridge), the bridge's raw conditions.
 */
function rawFallbackAllowed(ctx: PlanContext, d: ScanDevice, m: PlanMethod): boolean {
  if (m === 'bus') {
    if (d.parent === null) return false;
    const b = busCheck(ctx, d.parent);
    return b.ok && b.raw === null;
  }
  if (m === 'flr' || m === 'af_flr' || m === 'pm') return kernelOmits(d, m) === null && rawFunctionRefusal(ctx, d, m) === null;
  return true;
}

/**
 * Methods to try if the chosen one fails with "not supported": later allowed candidates that reset the
 * same functions, and the raw form of a kernel-form choice. A `bus` fallback (raw) resets the target's
 * parent bridge; it is offered only when nothing else sits below that bridge.
 */
export function fallbacksFor(ctx: PlanContext, d: ScanDevice, chosen: Verdict, later: Verdict[]): PlanMethod[] {
  const kernelForms: PlanMethod[] = [];
  const rawForms: PlanMethod[] = [];
  if (chosen.target !== d.bdf) return []; // a raw bus step on the bridge: nothing else resets the same set
  const add = (list: PlanMethod[], m: PlanMethod | null): void => {
    if (m === null || m === chosen.method || kernelForms.includes(m) || rawForms.includes(m)) return;
    if (list === rawForms && !rawFallbackAllowed(ctx, d, m)) return;
    list.push(m);
  };
  // The raw form of a method the kernel was to run: what is left if the kernel's reset file fails.
  const rawOf = (v: Verdict): PlanMethod | null => {
    const isKernel = v.method === 'kernel' || v.method?.startsWith('kernel:');
    if (!isKernel) return null;
    if (v.candidate === 'flr' || v.candidate === 'af_flr' || v.candidate === 'pm') return v.candidate;
    // cxl_bus has no raw form: Bridge Control alone is ignored while the port masks SBR.
    if (v.candidate === 'bus' && underlyingMethod(d, v.method!) === 'bus') return 'bus';
    return null;
  };
  for (const v of later) {
    if (!v.ok || v.radius.length !== 1 || v.radius[0] !== d.bdf) continue;
    if (v.method === 'flr' || v.method === 'af_flr' || v.method === 'pm' || v.method === 'bus') add(rawForms, v.method);
    else add(kernelForms, v.method);
  }
  // A raw reset needs the capability bits; with config read only in part there is only the kernel.
  for (const v of configCut(d) ? [] : [chosen, ...later]) {
    if (v.ok && v.radius.length === 1 && v.radius[0] === d.bdf) add(rawForms, rawOf(v));
  }
  return [...kernelForms, ...rawForms];
}

/**
 * Whether a PF reset by this method also resets its VFs: FLR, AF FLR and PM clear VF Enable (the kernel
 * restores it, the executor restores it for a raw reset; the VFs' state is lost either way).
 */
export function resetsVfs(d: ScanDevice, v: Verdict): boolean {
  if (!v.method || v.method === 'bus') return false;
  return RESETS_VFS.has(underlyingMethod(d, v.method));
}
