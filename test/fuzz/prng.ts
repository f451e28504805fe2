import { appendFileSync } from 'node:fs';

/** A small seeded PRNG (mulberry32): the same seed gives the same inputs on every machine. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/**
 * How many inputs a target gets: its quick count inside `npm test`, times FUZZ_SCALE for the long run
 * (`npm run fuzz` uses 50), or exactly FUZZ_ITERATIONS when set.
 */
export function iterations(quick: number): number {
  const n = Number(process.env.FUZZ_ITERATIONS);
  if (Number.isFinite(n) && n > 0) return n;
  const scale = Number(process.env.FUZZ_SCALE);
  return Number.isFinite(scale) && scale > 0 ? Math.round(quick * scale) : quick;
}

export function seed(): number {
  const n = Number(process.env.FUZZ_SEED);
  return Number.isFinite(n) ? n : 0x5eed;
}

/**
 * Run one input and fail loudly if it takes absurdly long. Every loop in the decoders is bounded by
 * construction (TTLs, visited sets); this is the hang detector, set far above any normal input.
 */
export function bounded<T>(label: string, fn: () => T, limitMs = 5000): T {
  const start = performance.now();
  const out = fn();
  const took = performance.now() - start;
  if (took > limitMs) throw new Error(`${label}: took ${took.toFixed(0)} ms (a hang?)`);
  return out;
}

/**
 * The long run's thoroughness switch for sweeps that are exhaustive by construction (every I/O operation
 * of a scenario): with FUZZ_SCALE above 1 every fault kind is tried at every operation, otherwise they
 * take turns.
 */
export function exhaustive(): boolean {
  const scale = Number(process.env.FUZZ_SCALE);
  return Number.isFinite(scale) && scale > 1;
}

/**
 * Record how many inputs a target ran and how long it took, as one JSON line appended to the file named
 * by FUZZ_REPORT (the reliability bench reads it); nothing when unset.
 */
export function report(target: string, inputs: number, ms: number): void {
  const file = process.env.FUZZ_REPORT;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ target, inputs, ms: Math.round(ms) })}\n`);
}
