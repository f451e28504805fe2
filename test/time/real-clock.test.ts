import { describe, expect, it } from 'vitest';
import { RealClock, type TimerHost } from '../../src/time/clock.js';

/** A timer host whose clock and timers move only when the test says: a timer may be fired early, as libuv's may. */
function manualHost(): TimerHost & { t: number; armed: { fn: () => void; ms: number }[]; fire: (at: number) => void } {
  const host = {
    t: 0,
    armed: [] as { fn: () => void; ms: number }[],
    now: () => host.t,
    setTimeout: (fn: () => void, ms: number) => {
      const h = { fn, ms };
      host.armed.push(h);
      return h;
    },
    clearTimeout: (h: unknown) => {
      host.armed = host.armed.filter((x) => x !== h);
    },
    /** Move the clock to `at` and fire the oldest armed timer. */
    fire: (at: number) => {
      host.t = at;
      host.armed.shift()!.fn();
    },
  };
  return host;
}

const settled = async (p: Promise<void>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
};

describe('RealClock.sleep', () => {
  it('a timer that fires before the time is up is armed again for what is left: a mandated wait never comes back short', async () => {
    const host = manualHost();
    host.t = 10.9;
    const clock = new RealClock(host);
    const p = clock.sleep(100);
    expect(host.armed.map((x) => x.ms)).toEqual([100]);
    // libuv counted 10 ms at the call, so its 100 ms timer fires at 110.0: 0.9 ms early.
    host.fire(110.0);
    expect(await settled(p)).toBe(false);
    expect(host.armed.map((x) => x.ms)).toEqual([1]);
    host.fire(110.9);
    expect(await settled(p)).toBe(true);
  });

  it('0 ms resolves on the next timer turn; an abort ends the sleep at once', async () => {
    const host = manualHost();
    const clock = new RealClock(host);
    const zero = clock.sleep(0);
    host.fire(0);
    expect(await settled(zero)).toBe(true);
    const ac = new AbortController();
    const long = clock.sleep(5000, ac.signal);
    ac.abort();
    expect(await settled(long)).toBe(true);
    expect(host.armed).toEqual([]);
  });

  it('on the platform timers, 200 sleeps of 1–5 ms after synchronous work: none returns before its time by performance.now()', async () => {
    const clock = new RealClock();
    let short = 0;
    for (let i = 0; i < 200; i++) {
      // Synchronous work before the call leaves libuv's millisecond count behind performance.now().
      const spin = performance.now() + (i % 7) * 0.13;
      while (performance.now() < spin);
      const ms = 1 + (i % 5);
      const t0 = clock.now();
      await clock.sleep(ms);
      if (clock.now() - t0 < ms) short++;
    }
    expect(short).toBe(0);
  });
});
