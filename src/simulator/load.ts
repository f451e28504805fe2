import type { Root } from '../access/root.js';
import { SysfsAccess } from '../access/sysfs.js';
import { scan } from '../scan/scan.js';
import type { Clock } from '../time/clock.js';
import { buildRegisterModel } from './register-model.js';
import { DEFAULT_BEHAVIOUR, SimFunction, type FunctionBehaviour } from './sim-function.js';
import { PciSimulator } from './simulator.js';

export interface SimulatorOptions {
  clock: Clock;
  /** Behaviour of every function (over DEFAULT_BEHAVIOUR). */
  defaults?: Partial<FunctionBehaviour>;
  /** Behaviour per BDF (over `defaults`). */
  behaviour?: Record<string, Partial<FunctionBehaviour>>;
  /** Give every bridge a `reset_subordinate` file, as kernels from 6.13 on do (default: only where the tree has one). */
  resetSubordinate?: boolean;
}

/** Files of a function directory that are not text attributes worth keeping. */
const SKIP = /^(config|resource\d+(_wc)?|rom|remove|rescan|reset|reset_subordinate|driver_override|new_id|remove_id)$/;

/**
 * Load a simulator from any tree the sysfs backend reads (a mock tree, a captured machine). Reads only:
 * the tree is never written, and neither is anything else.
 */
export function loadSimulator(root: Root, options: SimulatorOptions): PciSimulator {
  const access = new SysfsAccess(root);
  const result = scan(access, root.dir);
  const defaults: FunctionBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.defaults };
  const vfIndex = new Map<string, number>();
  for (const d of result.devices) d.virtfns.forEach((vf, i) => vfIndex.set(vf, i));
  const functions: SimFunction[] = [];
  const now = options.clock.now();
  for (const d of result.devices) {
    let config: Uint8Array;
    try {
      config = access.readConfig(d.bdf)?.slice() ?? new Uint8Array(0);
    } catch {
      config = new Uint8Array(0);
    }
    let names: string[] = [];
    try {
      names = access.listAttributes(d.bdf);
    } catch {
      names = [];
    }
    const attrs = new Map<string, string>();
    const links = new Map<string, string>();
    for (const name of names) {
      let link: string | null = null;
      try {
        link = access.readLink(d.bdf, name);
      } catch {
        link = null;
      }
      if (link !== null) {
        links.set(name, link);
        continue;
      }
      if (SKIP.test(name) || name === 'reset_method') continue;
      try {
        const text = access.readAttribute(d.bdf, name);
        if (text !== null && text.length <= 65536) attrs.set(name, text);
      } catch {
        // Unreadable attribute (a directory, a write-only file): not modelled.
      }
    }
    const isBridge = d.headerType === 1;
    const hasSub = names.includes('reset_subordinate') || (isBridge && options.resetSubordinate === true);
    if (hasSub && !names.includes('reset_subordinate')) names.push('reset_subordinate');
    const model = buildRegisterModel(config, attrs.get('resource') ?? null);
    const behaviour = { ...defaults, ...options.behaviour?.[d.bdf] };
    // The kernel's chain: the listing when there is one; a kernel with `reset` but no `reset_method` (< 5.15) runs its own probe order.
    const methods = d.resetMethods ?? (d.resetFile ? d.inferredResetMethods.slice() : null);
    const f = new SimFunction(d.bdf, d.path, d.parent, d.physfn, vfIndex.get(d.bdf) ?? 0, config, model, attrs, links, names, methods, hasSub, behaviour);
    initPending(f, now);
    functions.push(f);
  }
  return new PciSimulator(functions, options.clock, result.problems);
}

/**
 * Transactions Pending as loaded: the bit is driven by the model from now on. While Bus Master is on,
 * the function keeps issuing requests, so the count starts once software clears it.
 */
function initPending(f: SimFunction, now: number): void {
  const layout = f.model.layout;
  if (!layout) return;
  let pending = false;
  if (layout.pcie) {
    const o = layout.pcie.offset + 0x0a;
    if (f.config[o]! & 0x20) pending = true;
    f.config[o] = f.config[o]! & ~0x20;
  }
  if (layout.af) {
    const o = layout.af.offset + 5;
    if (f.config[o]! & 0x01) pending = true;
    f.config[o] = f.config[o]! & ~0x01;
  }
  if (!pending) return;
  const p = f.behaviour.pendingMs;
  const busMaster = (f.config[0x04]! & 0x04) !== 0;
  f.pendingUntil = p === 'never' || busMaster ? Infinity : now + p;
}
