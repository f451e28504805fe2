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

/**
 * Where the run began on the real clock (performance.now(), whose origin is the process's start), set by
 * the CLI entry (bin.ts) so that `apply --deadline` bounds the process from its first instruction: Node's
 * start-up, the scan, the IOMMU evidence, planning and locking all count. Null when runApply() is called
 * from elsewhere (tests, benches): the run then begins when runApply() does.
 */
let origin: number | null = null;

/**
 * Set the run's origin on the real clock: 0, the process's start (bin.ts, or a bench child standing in
 * for it); null to let each run begin when runApply() does (the default).
 */
export function setRunOrigin(at: number | null): void {
  origin = at;
}

export function runOrigin(): number | null {
  return origin;
}
