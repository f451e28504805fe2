import type { StepContext } from '../step-context.js';

/** What a reset leaves to the step runner: the functions to wait for and restore, in dependency order. */
export interface ResetOutcome {
  /** Functions to bring back (wait until they answer, restore, then their dependents). Empty when the kernel restored. */
  roots: string[];
  /** The reset, in the kernel's words, for messages: `FLR`, `bus reset`, … */
  reason: string;
  /** An early reason to stop waiting (the link went down for good). */
  giveUp?: (elapsedMs: number) => string | null;
  /**
   * Clock time the reset ended (a secondary bus reset deasserted). Bridges below the reset one are waited
   * for from it after their restore (bring-up.ts, pci_bus_restore_locked()); absent for function resets.
   */
  resetAt?: number;
  /** The d3cold delay the step uses below bridges (ms), for the waits after nested bridges. */
  delayMs?: number;
}

/**
 * One reset method, the way the kernel's pci_reset_fn_methods[] entries are: a probe that says whether it
 * applies (nothing written), and the reset itself. The step runner does save, restore and fallbacks.
 */
export interface ResetMethod {
  /** `flr`, `af_flr`, `pm`, `bus`, `kernel`, `vfio` (`kernel:<m>` runs `kernel`). */
  readonly name: string;
  /** Why the method cannot run here, or null. Reads only. */
  probe(ctx: StepContext): string | null;
  /** Functions whose config space the reset clears and the agent saves and restores itself. */
  clears(ctx: StepContext): string[];
  /** Functions the kernel resets and restores for us; read before and after to check its restore. */
  observes(ctx: StepContext): string[];
  reset(ctx: StepContext): Promise<ResetOutcome>;
}
