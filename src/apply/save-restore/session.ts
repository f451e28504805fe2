import type { PciAccess } from '../../access/access.js';
import type { RegisterLayout } from '../../config/register-layout.js';
import type { RestoreMismatch } from '../apply-report.js';
import { MethodError } from '../method-error.js';
import { restoreState, verifyState, type GroupedMismatch, type RestoreResult } from './restore.js';

function stripGroup(m: GroupedMismatch): RestoreMismatch {
  const { group: _group, ...rest } = m;
  return rest;
}
import { saveState } from './save.js';
import type { SavedState } from './saved-state.js';

/**
 * The saved state of every function one reset clears, and what has been written back so far. A step
 * saves before its first write, restores each function as soon as it answers again, and at the end
 * writes back whatever is left (failure paths included) and reads everything back.
 */
export class SaveSession {
  private readonly saved = new Map<string, SavedState>();
  /** States read only to check the kernel's own restore (kernel, vfio, reset_subordinate). */
  private readonly observed = new Map<string, SavedState>();
  private readonly restoredSet = new Set<string>();
  private busMasterKeptOff = false;

  constructor(
    private readonly access: PciAccess,
    private readonly layoutOf: (bdf: string) => RegisterLayout,
  ) {}

  /** Save before the reset; throws MethodError (phase `save`) when the function cannot be read. */
  save(bdf: string): void {
    if (this.saved.has(bdf)) return;
    this.saved.set(bdf, saveState(this.access, bdf, this.layoutOf(bdf)));
  }

  /** Keep a copy to compare after the kernel restored it; a function that cannot be read is reported, not fatal. */
  observe(bdf: string): string | null {
    try {
      this.observed.set(bdf, saveState(this.access, bdf, this.layoutOf(bdf)));
      return null;
    } catch (err) {
      return err instanceof MethodError ? err.message : String(err);
    }
  }

  has(bdf: string): boolean {
    return this.saved.has(bdf);
  }

  isRestored(bdf: string): boolean {
    return this.restoredSet.has(bdf);
  }

  get savedFunctions(): string[] {
    return [...this.saved.keys()];
  }

  get restored(): string[] {
    return [...this.restoredSet];
  }

  unrestored(): string[] {
    return [...this.saved.keys()].filter((b) => !this.restoredSet.has(b));
  }

  /** Write one function's state back. Errors of single registers come back in the result; the rest is still written. */
  restore(bdf: string, keepBusMasterOff = false): RestoreResult {
    const state = this.saved.get(bdf);
    if (!state) return { vfEnabled: false, errors: [] };
    if (keepBusMasterOff) this.busMasterKeptOff = true;
    this.restoredSet.add(bdf);
    return restoreState(this.access, state, { keepBusMasterOff });
  }

  /** Read back one function restored late (after its step gave up on it). */
  verifyOne(bdf: string): { mismatches: RestoreMismatch[]; errors: string[] } {
    const s = this.saved.get(bdf);
    if (!s) return { mismatches: [], errors: [] };
    const r = verifyState(this.access, s, { keepBusMasterOff: true });
    return { mismatches: r.mismatches.map(stripGroup), errors: r.errors.map((e) => `${bdf} ${e}`) };
  }

  /**
   * Read back every function we restored (a difference is a mismatch: our restore did not stick) and
   * every function the kernel restored for us (a difference is reported as a note: a bound driver's
   * reset_done() may legitimately change registers after the kernel's restore).
   */
  verify(): { mismatches: RestoreMismatch[]; kernelDifferences: GroupedMismatch[]; errors: string[] } {
    const mismatches: RestoreMismatch[] = [];
    const kernelDifferences: GroupedMismatch[] = [];
    const errors: string[] = [];
    const check = (s: SavedState, into: RestoreMismatch[]): void => {
      const r = verifyState(this.access, s, { keepBusMasterOff: this.busMasterKeptOff });
      into.push(...r.mismatches.map((m) => (into === mismatches ? stripGroup(m) : m)));
      errors.push(...r.errors.map((e) => `${s.bdf} ${e}`));
    };
    for (const b of this.restoredSet) check(this.saved.get(b)!, mismatches);
    for (const s of this.observed.values()) check(s, kernelDifferences);
    return { mismatches, kernelDifferences, errors };
  }
}
