/**
 * Time as the executor and the simulator see it. Real time for a kdump run; virtual time for tests and
 * `apply --simulate --virtual-time`, so that a 60 s readiness timeout costs nothing to exercise.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (not wall-clock time). */
  now(): number;
  /** Resolve after `ms` milliseconds (0 or less: on the next turn), or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** True when time only moves while every task is asleep (no real time passes). */
  readonly virtual: boolean;
}

/** What RealClock needs of the platform; a test hands in its own to fire timers when it likes. */
export interface TimerHost {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const PLATFORM: TimerHost = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class RealClock implements Clock {
  readonly virtual = false;

  constructor(private readonly host: TimerHost = PLATFORM) {}

  now(): number {
    return this.host.now();
  }

  /**
   * Never returns before `ms` have passed on now()'s scale. A Node timer may fire up to 1 ms early by
   * performance.now(): libuv counts whole milliseconds, so a 100 ms timer set at 10.9 ms fires at 110.0.
   * The simulator caught an FLR's config read 0.4 ms inside its mandated 100 ms that way; the kernel's
   * msleep() never returns early, so a wait that comes back short is armed again for what is left.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const host = this.host;
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const until = host.now() + Math.max(0, ms);
      let timer: unknown;
      // setTimeout fires at once for anything above 2^31-1 ms: clamp (about 24.8 days) and arm again.
      const arm = (left: number): void => {
        timer = host.setTimeout(check, Math.min(Math.max(0, Math.ceil(left)), 0x7fffffff));
      };
      function check(): void {
        const left = until - host.now();
        if (left > 0) arm(left);
        else done();
      }
      function done(): void {
        host.clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
      arm(ms);
    });
  }
}

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * Discrete-event time: `sleep` registers a timer; once every task has gone back to sleep (nothing left
 * in the microtask queue, checked with setImmediate), time jumps to the earliest timer and wakes it.
 * Concurrent sleepers therefore overlap exactly as they would in real time, in a few microseconds.
 *
 * The one rule for code running under it: await nothing but this clock (no real I/O in between), or
 * time may jump ahead of an operation still in flight.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];
  private scheduled = false;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== timer);
          resolve();
        },
        { once: true },
      );
      this.schedule();
    });
  }

  /**
   * Time passes while the caller is blocked in a synchronous operation (the simulator's `slow` fault):
   * nothing else runs meanwhile, and timers that fell due fire, late, once the caller yields.
   */
  advance(ms: number): void {
    this.t += Math.max(0, ms);
    if (this.timers.length > 0) this.schedule();
  }

  /** Timers not yet due (for tests that check nothing is left waiting). */
  get pending(): number {
    return this.timers.length;
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.fire();
    });
  }

  /** Wake every timer due at the earliest instant; then look again once they have run. */
  private fire(): void {
    const next = this.earliest();
    if (!next) return;
    this.t = Math.max(this.t, next.at);
    const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.resolve();
    if (this.timers.length > 0 || due.length > 0) this.schedule();
  }
}
