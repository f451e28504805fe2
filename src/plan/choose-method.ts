import type { QuirkMethod } from '../quirks/quirk-types.js';
import type { ScanDevice } from '../scan/scan-result.js';
import { busCheck, quirkNote, type PlanContext } from './context.js';
import type { PlanMethod } from './plan.js';

/**
 * Method choice for one function: the kernel's order (device_specific, flr, af_flr, pm, bus) filtered by
 * capability bits, topology and quirks, the table's `prefer=` list first. A method the kernel offers in
 * `reset_method` (listed and not stale) is done through the kernel's `reset` file, which saves and
 * restores state: `kernel` when the kernel's own chain starts with it and holds nothing we rule out,
 * `kernel:<m>` otherwise (select m in reset_method first).
 */

/** What the planner tries, in this order unless the table prefers otherwise. */
export const KERNEL_ORDER = ['device_specific', 'flr', 'af_flr', 'pm', 'bus'] as const;

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

const FLR_FAMILY = new Set(['flr', 'af_flr']);

/**
 * Config space read short of the capabilities (an unprivileged read gets 64 bytes): the capability bits,
 * and so the scan's judgement of which listed methods are stale, are unknown. The kernel read all of it.
 */
export function configCut(d: ScanDevice): boolean {
  return d.headerType !== null && d.configSize < 256;
}

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
      return q.noFlr.length === 0;
    case 'pm':
      return q.noPm.length === 0;
    case 'bus':
    case 'cxl_bus': {
      if (d.parent === null) return false;
      const b = busCheck(ctx, d.parent);
      return b.ok && b.radius.length === 1 && b.radius[0] === d.bdf;
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
    const method = kernelForm(ctx, d, m);
    return { candidate: m, ok: true, method, target: d.bdf, radius: [d.bdf], why: `${cut}; ${kernelNote(d, m, method)}` };
  }
  let capability: string;
  if (m === 'flr') {
    if (d.flr) capability = 'DevCap FLR+';
    else if (q.assumeFlr && d.pcie !== null) capability = `DevCap FLR- but it does FLR (${quirkNote(q.assumeFlr)})`;
    else return no(d.pcie === null ? 'no PCI Express capability, so no FLR' : 'DevCap FLR-: no function level reset');
    if (q.noFlr.length) return no(`forbidden: ${quirkNote(q.noFlr[0]!)}`);
  } else if (m === 'af_flr') {
    if (!d.af) return no('no Advanced Features capability');
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
  const kernelSays = d.resetMethods === null ? 'no reset_method file' : d.staleResetMethods.includes(m) ? `the kernel lists ${m} but it would fail` : `the kernel does not offer ${m}`;
  return { candidate: m, ok: true, method: m, target: d.bdf, radius: [d.bdf], why: `${capability}; ${kernelSays}: raw register reset with config save/restore` };
}

function busVerdict(ctx: PlanContext, d: ScanDevice): Verdict {
  const no = (why: string, radius: string[] = []): Verdict => ({ candidate: 'bus', ok: false, method: null, target: null, radius, why });
  if (d.parent === null) return no('on a root bus: there is no bridge above it to reset');
  const b = busCheck(ctx, d.parent);
  if (!b.ok) return no(b.why, b.radius);
  if (b.radius.length === 1 && b.radius[0] === d.bdf && kernelOffers(d, 'bus')) {
    const method = kernelForm(ctx, d, 'bus');
    return { candidate: 'bus', ok: true, method, target: d.bdf, radius: b.radius, why: `alone below ${d.parent}; ${kernelNote(d, 'bus', method)}` };
  }
  const stale = d.staleResetMethods.includes('bus') ? ` (the kernel lists bus for ${d.bdf} but it would fail: functions share its bus)` : '';
  return { candidate: 'bus', ok: true, method: 'bus', target: d.parent, radius: b.radius, why: `${b.why}${stale}` };
}

export const NO_DEVICE_SPECIFIC = 'the kernel has no device-specific reset for it';

function deviceSpecificVerdict(ctx: PlanContext, d: ScanDevice): Verdict {
  if (!kernelOffers(d, 'device_specific')) {
    return { candidate: 'device_specific', ok: false, method: null, target: null, radius: [], why: NO_DEVICE_SPECIFIC };
  }
  const method = kernelForm(ctx, d, 'device_specific');
  return { candidate: 'device_specific', ok: true, method, target: d.bdf, radius: [d.bdf], why: `only the kernel can run it; ${kernelNote(d, 'device_specific', method)}` };
}

/** `prefer=kernel` / `kernel:<m>` / `vfio`: the table trusts the kernel's listing over our reading of config space, except for bus. */
function preferredKernelVerdict(ctx: PlanContext, d: ScanDevice, item: QuirkMethod): Verdict {
  const q = ctx.quirks.get(d.bdf)!;
  const listing = d.resetFile ? (d.resetMethods ?? []) : [];
  const no = (why: string): Verdict => ({ candidate: item, ok: false, method: null, target: null, radius: [], why });
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
  const q = ctx.quirks.get(d.bdf)!;
  const order: string[] = [];
  let orderWhy = 'the kernel\'s order: device_specific, flr, af_flr, pm, bus';
  if (q.prefer) {
    order.push(...q.prefer.value);
    orderWhy = `${q.prefer.value.join(', ')} first, as ${quirkNote(q.prefer.from)}; then the kernel's order`;
  }
  for (const m of KERNEL_ORDER) if (!order.includes(m)) order.push(m);

  const verdicts: Verdict[] = order.map((c) => {
    if (c === 'device_specific') return deviceSpecificVerdict(ctx, d);
    if (c === 'flr' || c === 'af_flr' || c === 'pm') return rawVerdict(ctx, d, c);
    if (c === 'bus') return busVerdict(ctx, d);
    return preferredKernelVerdict(ctx, d, c as QuirkMethod);
  });
  const chosenIndex = verdicts.findIndex((v) => v.ok);
  const chosen = chosenIndex >= 0 ? verdicts[chosenIndex]! : null;
  return { bdf: d.bdf, orderWhy, verdicts, chosen, fallbacks: chosen ? fallbacksFor(d, chosen, verdicts.slice(chosenIndex + 1)) : [] };
}

/**
 * Methods to try if the chosen one fails with "not supported": later allowed candidates that reset the
 * same functions, and the raw form of a kernel-form choice. A `bus` fallback (raw) resets the target's
 * parent bridge; it is offered only when nothing else sits below that bridge.
 */
export function fallbacksFor(d: ScanDevice, chosen: Verdict, later: Verdict[]): PlanMethod[] {
  const kernelForms: PlanMethod[] = [];
  const rawForms: PlanMethod[] = [];
  if (chosen.target !== d.bdf) return []; // a raw bus step on the bridge: nothing else resets the same set
  const add = (list: PlanMethod[], m: PlanMethod | null): void => {
    if (m !== null && m !== chosen.method && !kernelForms.includes(m) && !rawForms.includes(m)) list.push(m);
  };
  // The raw form of a method the kernel was to run: what is left if the kernel's reset file fails.
  const rawOf = (v: Verdict): PlanMethod | null => {
    const isKernel = v.method === 'kernel' || v.method?.startsWith('kernel:');
    if (!isKernel) return null;
    if (v.candidate === 'flr' || v.candidate === 'af_flr' || v.candidate === 'pm') return v.candidate;
    if (v.candidate === 'bus') return 'bus';
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

/** Whether a PF reset by this method also resets its VFs (FLR clears VF Enable; the kernel restores it). */
export function resetsVfs(d: ScanDevice, v: Verdict): boolean {
  if (!v.method) return false;
  if (v.method === 'flr' || v.method === 'af_flr') return true;
  if (v.method.startsWith('kernel:')) return FLR_FAMILY.has(v.method.slice(7));
  if (v.method === 'kernel' || v.method === 'vfio') return FLR_FAMILY.has((d.resetMethods ?? [])[0] ?? '');
  return false;
}
