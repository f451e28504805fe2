import type { Clock } from '../../time/clock.js';

/**
 * One bridge's Secondary Bus Reset pulse, as three synchronous parts. The pulse is never split across
 * an event-loop turn: between `assert` and `deassert` no timer, signal handler, other step or exit may
 * run, or a bus could be left held in reset (the worst outcome there is).
 */
export interface Pulse {
  /** Write Bridge Control with Secondary Bus Reset set. */
  assert(): void;
  /** After the hold: throw when the bit does not read back set (the bus was not reset). */
  check(): void;
  /** Write it clear and make sure it is clear; throw when it stays set. */
  deassert(): void;
}

/** What became of one pulse: how long its bridge was held (null: never set or not timed), and why it failed. */
export type PulseResult = { ok: true; heldMs: number } | { ok: false; heldMs: number | null; failure: unknown };

interface Pending {
  pulse: Pulse;
  settle: (r: PulseResult) => void;
}

interface Batch {
  clock: Clock;
  queue: Pending[];
}

/**
 * How long Secondary Bus Reset is held: PCI r3.0 7.6.4.2 asks for Trst of at least 1 ms;
 * pci_reset_secondary_bus() (drivers/pci/pci.c) holds 2.
 */
export const SBR_HOLD_MS = 2;

/** The batch being gathered in this turn, per clock (one executor, one clock). */
const open = new WeakMap<Clock, Batch>();

/**
 * Pulse a bridge's Secondary Bus Reset for SBR_HOLD_MS (real time), together with every other pulse asked
 * for in the same turn: all are set, the thread is held once, then each is checked and cleared, in one
 * synchronous run. Resolves with how long this bridge was held and its own failure (never rejects).
 *
 * Why batch: the executor starts a wave's steps in one synchronous pass, and each raw bus reset reaches
 * its pulse in that pass. Held one after another, N bridges blocked the thread N × 2 ms (277 bus resets
 * of a 5,000-function machine: ~0.7 s beyond the critical path); held together, 2 ms once. Each bridge
 * is still held at least SBR_HOLD_MS: every one is set before the hold starts and cleared after it ends. No bridge of a batch is below
 * another: every step asking for a pulse is running, and the executor starts no step whose claims (a
 * bus step claims its bridge, the bridge's parent and everything below) meet a running step's.
 */
export function pulseTogether(clock: Clock, pulse: Pulse): Promise<PulseResult> {
  let batch = open.get(clock);
  if (!batch) {
    const fresh: Batch = { clock, queue: [] };
    open.set(clock, fresh);
    // A microtask runs when the current synchronous pass (the executor starting a wave's steps) ends,
    // before any timer, I/O callback or signal handler: nothing is set until then, so nothing is held.
    queueMicrotask(() => {
      open.delete(clock);
      flush(fresh);
    });
    batch = fresh;
  }
  return new Promise<PulseResult>((settle) => batch.queue.push({ pulse, settle }));
}

/** Never throws: it runs as a microtask, and every bridge it set must be cleared and every pulse settled. */
function flush(batch: Batch): void {
  const { clock } = batch;
  const set: { p: Pending; at: number }[] = [];
  for (const p of batch.queue) {
    try {
      p.pulse.assert();
      set.push({ p, at: clock.now() });
    } catch (err) {
      // The write may have landed even though it failed to say so: clear it as the unbatched code's
      // `finally` did. A failure to clear is the worse news and is the one reported.
      let failure = err;
      try {
        p.pulse.deassert();
      } catch (e) {
        failure = e;
      }
      p.settle({ ok: false, heldMs: null, failure });
    }
  }
  if (set.length === 0) return;
  // Failures are boxed: whatever was thrown (even undefined) counts.
  let holdFailed: { err: unknown } | null = null;
  try {
    holdThread(clock, set[set.length - 1]!.at + SBR_HOLD_MS);
  } catch (err) {
    holdFailed = { err: new Error(`the ${SBR_HOLD_MS} ms Secondary Bus Reset hold could not be timed: ${(err as Error)?.message ?? String(err)}`) };
  }
  for (const { p, at } of set) {
    let failed = holdFailed;
    let heldMs: number | null = null;
    try {
      heldMs = clock.now() - at;
    } catch (err) {
      failed ??= { err };
    }
    try {
      p.pulse.check();
    } catch (err) {
      failed = { err };
    }
    try {
      p.pulse.deassert();
    } catch (err) {
      failed = { err };
    }
    p.settle(failed === null && heldMs !== null ? { ok: true, heldMs } : { ok: false, heldMs, failure: failed?.err });
  }
}

/**
 * Block the thread until `until` on `clock` (Atomics.wait: a sleep that yields nothing to the event
 * loop). Should Atomics.wait refuse, spin: the hold must be met, not cut short.
 */
function holdThread(clock: Clock, until: number): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let left = until - clock.now(); left > 0; left = until - clock.now()) {
    try {
      Atomics.wait(cell, 0, 0, left);
    } catch {
      // spin until `until`
    }
  }
}
