/**
 * The plan (`plan --json`), contract with other tools (issue #4); `apply` executes it (issue #5).
 * Every function of the scan appears exactly once across steps' `functions`, `unresettable` and `excluded`.
 */
import type { IommuCase } from '../iommu/iommu-report.js';

/** `kernel` = write 1 to the function's sysfs `reset`; `kernel:<m>` = select method m in `reset_method` first. */
export type PlanMethod = 'flr' | 'af_flr' | 'pm' | 'bus' | 'kernel' | `kernel:${string}` | 'vfio';

export interface PlanWait {
  /** What the wait is for: `flr`, `d3hot`, `bus-reset`, `quirk-delay`, `pending-transactions`, … */
  what: string;
  ms: number;
}

export interface PlanStep {
  /** contract: 1-based, execution order within a wave. */
  id: number;
  /** contract */
  method: PlanMethod;
  /** contract: the function reset, or the bridge for `bus`. */
  target: string;
  /** contract: every BDF whose state the step resets. */
  functions: string[];
  /** contract: step ids it may run concurrently with. */
  independentOf: number[];
  /** contract (alternative to independentOf, both given): steps of one wave share no function or bridge. */
  wave: number;
  /** contract: the reason chain (quirk line, capability bit, kernel reset_method, IOMMU case). */
  reasons: string[];
  /** Functions whose config space is saved before and restored after (raw register methods). */
  saveRestore: string[];
  /** Mandated waits the step implies, for reports and deadline budgeting. */
  waits: PlanWait[];
  /** Extra wait after the reset a quirk asks for (ms), 0 when none. */
  delayAfterMs: number;
  /** PM reset D3hot delay (ms): 10 by default, quirks raise it. */
  d3hotDelayMs: number;
  /** Methods to try, in order, if `method` fails with "not supported" (the kernel's chain semantics). */
  fallbacks: PlanMethod[];
  /** The register-level reset the step comes to: `flr`, `af_flr`, `pm`, `bus`, `device_specific`, … (for `kernel`/`vfio`, what the kernel tries first). */
  underlying?: string;
  /**
   * The quirk table says the target does FLR although DevCap does not advertise it (`assume=flr`), and a
   * raw `flr` is the method or one of the fallbacks: the executor may issue it anyway. Absent otherwise.
   */
  assumeFlr?: boolean;
}

export interface PlanEntry {
  bdf: string;
  reason: string;
}

export interface Plan {
  /** contract */
  iommuCase: IommuCase;
  /** contract */
  steps: PlanStep[];
  /** contract: in scope, but no safe method. */
  unresettable: PlanEntry[];
  /** contract: out of scope (bridges, host bridges, the IOMMU, policy, case 1). */
  excluded: PlanEntry[];
  /** Machine-wide facts behind the plan: selectors that matched nothing, a machine-wide PM delay, IOMMU report problems. */
  notes: string[];
}
