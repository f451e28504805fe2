import type { Clock } from '../time/clock.js';

/** The run's hard end, on the run's clock. */
export class Deadline {
  constructor(
    readonly clock: Clock,
    /** Clock time at which the run must stop (Infinity: none). */
    readonly at: number,
  ) {}

  remaining(): number {
    return this.at - this.clock.now();
  }

  expired(): boolean {
    return this.remaining() <= 0;
  }
}
