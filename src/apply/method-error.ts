import { AccessError } from '../access/access-error.js';

/** Where in a step something went wrong, for `error` strings: `EIO in save 0000:03:00.0: …`. */
export type StepPhase = 'probe' | 'save' | 'reset' | 'wait' | 'restore' | 'verify' | 'cleanup';

/**
 * A method failed. `notSupported` is the kernel's -ENOTTY: the method does not apply to this function,
 * nothing was changed, and the next method in the chain may be tried.
 */
export class MethodError extends Error {
  constructor(
    readonly code: string,
    readonly phase: StepPhase,
    readonly bdf: string,
    readonly detail: string,
    readonly notSupported = false,
  ) {
    super(`${code} in ${phase} ${bdf}: ${detail}`);
    this.name = 'MethodError';
  }

  /** Wrap an I/O failure; a MethodError or DeadlineError passes through unchanged. */
  static from(err: unknown, phase: StepPhase, bdf: string, what: string): MethodError | DeadlineError {
    if (err instanceof MethodError || err instanceof DeadlineError) return err;
    if (err instanceof AccessError) return new MethodError(err.code, phase, bdf, `${what}: ${err.message}`);
    return new MethodError('EIO', phase, bdf, `${what}: ${(err as Error)?.message ?? String(err)}`);
  }
}

/**
 * A reset the kernel performs (a write to `reset`, an ioctl) has not returned within the step's limit. The
 * step gives up on it, but the kernel is still at work: nothing of the step may be touched any more
 * (user config access blocks while the kernel resets), and its functions and bridge stay reserved.
 */
export class StillInKernel extends MethodError {
  constructor(bdf: string, detail: string) {
    super('ETIMEDOUT', 'reset', bdf, detail);
    this.name = 'StillInKernel';
  }
}

/** The global deadline passed while the step was waiting; it stops at once and cleans up. */
export class DeadlineError extends Error {
  constructor(readonly during: string) {
    super(`deadline reached during ${during}`);
    this.name = 'DeadlineError';
  }
}

/** One line for the report from anything a step threw. */
export function describeFailure(err: unknown): string {
  if (err instanceof MethodError || err instanceof DeadlineError) return err.message;
  if (err instanceof AccessError) return `${err.code}: ${err.message}`;
  return `internal error: ${(err as Error)?.message ?? String(err)}`;
}
