import type { Claims } from './claims.js';

/**
 * Steps that write through the kernel, per wave, unless the policy says otherwise: each such write holds
 * one of the kernel-writer helper's threads for the whole reset, and the kdump runner gives it 32
 * (UV_THREADPOOL_SIZE).
 */
export const DEFAULT_WAVE_SIZE = 32;
/**
 * Steps of any kind per wave, per unit of the wave size: the agent's own FLR / AF FLR / PM resets hold no
 * thread (their waits are timers), so a wave may hold more of them; the bound keeps `independentOf`
 * (which lists the step's wave) linear in the number of steps and the event loop's burst of saves and
 * restores at a wave's start and end modest.
 */
export const STEPS_PER_WAVE_SLOT = 4;

/**
 * Waves: steps whose claims do not conflict (claims.ts: nothing one owns is owned or shared by the
 * other) may run concurrently. Given the steps' claims in priority order, each step goes to the first
 * wave after every earlier step it conflicts with that still has room, so priority order is kept among
 * conflicting steps and faulting devices land in the first waves. A wave holds at most `size` steps: an
 * executor overlaps only so many resets (each kernel `reset` write holds a thread), and `independentOf`,
 * which lists a step's wave, stays linear in the number of steps: at most `size` steps that write through
 * the kernel (Claims.thread) and `size` × STEPS_PER_WAVE_SLOT steps in all. A plain list of names is
 * owned, and counts as a kernel write.
 */
export function assignWaves(resources: (string[] | Claims)[], size = DEFAULT_WAVE_SIZE): number[] {
  const cap = Math.max(1, Math.floor(size));
  /** Last wave in which a step owned the name. */
  const lastOwned = new Map<string, number>();
  /** Last wave in which a step owned or shared the name. */
  const lastHeld = new Map<string, number>();
  const total = cap * STEPS_PER_WAVE_SLOT;
  const count: number[] = [0];
  const threads: number[] = [0];
  return resources.map((res) => {
    const { own, share, thread } = Array.isArray(res) ? { own: res, share: [] as string[], thread: true } : { ...res, thread: res.thread !== false };
    let wave = 1;
    const after = (w: number | undefined): void => {
      if (w !== undefined && w + 1 > wave) wave = w + 1;
    };
    for (const r of own) after(lastHeld.get(r));
    for (const r of share) after(lastOwned.get(r));
    while ((count[wave] ?? 0) >= total || (thread && (threads[wave] ?? 0) >= cap)) wave++;
    count[wave] = (count[wave] ?? 0) + 1;
    if (thread) threads[wave] = (threads[wave] ?? 0) + 1;
    for (const r of own) {
      lastOwned.set(r, Math.max(wave, lastOwned.get(r) ?? 0));
      lastHeld.set(r, Math.max(wave, lastHeld.get(r) ?? 0));
    }
    for (const r of share) lastHeld.set(r, Math.max(wave, lastHeld.get(r) ?? 0));
    return wave;
  });
}
