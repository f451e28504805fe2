import type { PlanStep } from '../../plan/plan.js';
import type { StepContext } from '../step-context.js';
import type { RegisterLayout } from '../../config/register-layout.js';
import { D3COLD_DELAY_MS, secondaryBusDelay } from '../wait-secondary-bus.js';
import { waitMs } from '../../config/readiness.js';

/** PCI_PM_D3HOT_WAIT */
export const D3HOT_DELAY_MS = 10;

/** The D3hot delay for a PM reset: the plan's (a quirk may raise it), else the kernel's 10 ms. */
export function d3hotDelayMs(step: PlanStep): number {
  const v = step.d3hotDelayMs;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : D3HOT_DELAY_MS;
}

/** The readiness delay after a bus reset: 100 ms, or what a quirk made of the plan's `secondary-bus` wait. */
export function busDelayMs(step: PlanStep, bridge: RegisterLayout): number {
  if (step.method !== 'bus') return D3COLD_DELAY_MS;
  return secondaryBusDelay(bridge, step.waits?.find((w) => w.what === 'secondary-bus')?.ms);
}

/** After an FLR: 0 with Immediate Readiness, else a valid Readiness Time Reporting FLR Time, else 100 ms. */
export function flrWaitMs(layout: RegisterLayout): number {
  if (layout.immediateReadiness) return 0;
  const t = layout.readiness?.flrMs;
  return t !== null && t !== undefined ? waitMs(t) : 100;
}

/** A quirk's extra wait after the reset, before the first config access (the plan's delayAfterMs). */
export async function quirkDelay(ctx: StepContext): Promise<void> {
  const ms = ctx.step.delayAfterMs;
  if (typeof ms === 'number' && ms > 0) await ctx.wait('quirk-delay', ms);
}
