import type { PlanMethod } from '../../plan/plan.js';
import { afFlr } from './af-flr.js';
import { bus } from './bus.js';
import { flr } from './flr.js';
import { kernel } from './kernel.js';
import type { ResetMethod } from './method.js';
import { pm } from './pm.js';
import { vfio } from './vfio.js';

/**
 * Every method the executor knows, like the kernel's pci_reset_fn_methods[]: a name and a function.
 * A plan step names one and its fallbacks; the runner tries them in that order.
 */
export const RESET_METHODS: readonly ResetMethod[] = [flr, afFlr, pm, bus, kernel, vfio];

/** The method a plan name runs (`kernel:<m>` runs `kernel`), or null for a name this build does not know. */
export function methodFor(name: PlanMethod): ResetMethod | null {
  const base = name.startsWith('kernel:') ? 'kernel' : name;
  return RESET_METHODS.find((m) => m.name === base) ?? null;
}
