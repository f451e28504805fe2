import type { Claims } from './claims.js';

/** Steps per wave unless the policy says otherwise: about what an executor can usefully overlap. */
export const DEFAULT_WAVE_SIZE = 32;

/**
 * Waves: steps whose claims do not conflict (claims.ts: nothing one owns is owned or shared by the
 * other) may run concurrently. Given the steps' claims in priority order, each step goes to the first
 * wave after every earlier step it conflicts with that still has room, so priority order is kept among
 * conflicting steps and faulting devices land in the first waves. A wave holds at most `size` steps: an
 * executor overlaps only so many resets (each kernel `reset` write holds a thread), and `independentOf`,
 * which lists a step's wave, stays linear in the number of steps. A plain list of names is owned.
 */
export function assignWaves(resources: (string[] | Claims)[], size = DEFAULT_WAVE_SIZE): number[] {
  const cap = Math.max(1, Math.floor(size));
  /** Last wave in which a step owned the name. */
  const lastOwned = new Map<string, number>();
  /** Last wave in which a step owned or shared the name. */
  const lastHeld = new Map<string, number>();
  const count: number[] = [0];
  return resources.map((res) => {
    const { own, share } = Array.isArray(res) ? { own: res, share: [] as string[] } : res;
    let wave = 1;
    const after = (w: number | undefined): void => {
      if (w !== undefined && w + 1 > wave) wave = w + 1;
    };
    for (const r of own) after(lastHeld.get(r));
    for (const r of share) after(lastOwned.get(r));
    while ((count[wave] ?? 0) >= cap) wave++;
    count[wave] = (count[wave] ?? 0) + 1;
    for (const r of own) {
      lastOwned.set(r, Math.max(wave, lastOwned.get(r) ?? 0));
      lastHeld.set(r, Math.max(wave, lastHeld.get(r) ?? 0));
    }
    for (const r of share) lastHeld.set(r, Math.max(wave, lastHeld.get(r) ?? 0));
    return wave;
  });
}
