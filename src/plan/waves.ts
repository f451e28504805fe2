/** Steps per wave unless the policy says otherwise: about what an executor can usefully overlap. */
export const DEFAULT_WAVE_SIZE = 32;

/**
 * Waves: steps that hold no common function or bridge may run concurrently. Given the steps' resources
 * in priority order, each step goes to the first wave after every earlier step it shares a resource
 * with that still has room, so priority order is kept among conflicting steps and faulting devices land
 * in the first waves. A wave holds at most `size` steps: an executor overlaps only so many resets
 * (each kernel `reset` write holds a thread), and `independentOf`, which lists a step's wave, stays
 * linear in the number of steps.
 */
export function assignWaves(resources: string[][], size = DEFAULT_WAVE_SIZE): number[] {
  const cap = Math.max(1, Math.floor(size));
  const lastWave = new Map<string, number>();
  const count: number[] = [0];
  return resources.map((res) => {
    let wave = 1;
    for (const r of res) {
      const w = lastWave.get(r);
      if (w !== undefined && w + 1 > wave) wave = w + 1;
    }
    while ((count[wave] ?? 0) >= cap) wave++;
    count[wave] = (count[wave] ?? 0) + 1;
    for (const r of res) lastWave.set(r, wave);
    return wave;
  });
}
