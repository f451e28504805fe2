/**
 * Fault injection for the simulator. Every I/O the executor does goes through one of the operations
 * below, and a rule can hit any of them: by operation, function, config offset, attribute name, and by
 * position in the stream of matching operations. A fuzz suite runs a scenario once, counts the trace,
 * then replays it with `{ after: k, times: 1 }` for every k so each I/O step fails once.
 */
export type SimOp =
  | 'listFunctions'
  | 'readConfig'
  | 'readConfigAt'
  | 'writeConfigAt'
  | 'readAttribute'
  | 'writeAttribute'
  | 'readLink'
  | 'listAttributes'
  | 'vfio';

export type FaultAction =
  /** The operation fails with this errno code (EIO, ENODEV, ENOTTY, EINVAL, EBUSY, EAGAIN, …). */
  | { kind: 'error'; code: string }
  /** A read returns this value (config register, or attribute text). */
  | { kind: 'value'; value: number | string }
  /** A write is accepted and silently ignored (a restore that does not stick). */
  | { kind: 'drop' }
  /** An asynchronous write never completes (a `reset` blocked in the kernel); synchronous ones fail with EIO. */
  | { kind: 'hang' }
  /** The function disappears just before the operation (surprise removal). */
  | { kind: 'vanish'; how?: 'all-ones' | 'removed' }
  /**
   * The operation blocks this long, then completes normally: a config access stuck in completion timeouts,
   * a sysfs file behind a busy lock. Synchronous, like the syscall: nothing else runs meanwhile.
   */
  | { kind: 'slow'; ms: number };

export interface FaultRule {
  op?: SimOp | SimOp[];
  bdf?: string;
  /** Config offset, or [from, to) range, an access must overlap. */
  offset?: number | [number, number];
  /** Attribute or link name (`reset`, `reset_method`, `driver`, …). */
  name?: string;
  /** Matching operations to let through before the rule fires (0: the first one). */
  after?: number;
  /** How many times it fires; unlimited when absent. */
  times?: number;
  action: FaultAction;
}

export interface SimOpInfo {
  op: SimOp;
  bdf?: string;
  offset?: number;
  width?: number;
  name?: string;
  /** Set by the simulator: the operation's position in the stream as issued (what `after` counts). */
  issued?: number;
  /** Set by the simulator: time the operation was issued (an asynchronous write completes later). */
  issuedAt?: number;
}

export class FaultHandle {
  /** Matching operations seen so far. */
  seen = 0;
  /** Times the rule fired. */
  fired = 0;
  active = true;

  constructor(readonly rule: FaultRule) {}

  remove(): void {
    this.active = false;
  }

  matches(info: SimOpInfo): boolean {
    const r = this.rule;
    if (!this.active) return false;
    if (r.op !== undefined && !(Array.isArray(r.op) ? r.op.includes(info.op) : r.op === info.op)) return false;
    if (r.bdf !== undefined && r.bdf !== info.bdf) return false;
    if (r.name !== undefined && r.name !== info.name) return false;
    if (r.offset !== undefined) {
      if (info.offset === undefined) return false;
      const [lo, hi] = Array.isArray(r.offset) ? r.offset : [r.offset, r.offset + 1];
      const end = info.offset + (info.width ?? 1);
      if (end <= lo || info.offset >= hi) return false;
    }
    return true;
  }
}

export class FaultInjector {
  private readonly handles: FaultHandle[] = [];

  add(rule: FaultRule): FaultHandle {
    const h = new FaultHandle(rule);
    this.handles.push(h);
    return h;
  }

  clear(): void {
    for (const h of this.handles) h.remove();
    this.handles.length = 0;
  }

  /** The action to take for this operation, if a rule fires; counts every matching operation. */
  check(info: SimOpInfo): FaultAction | null {
    let action: FaultAction | null = null;
    for (const h of this.handles) {
      if (!h.matches(info)) continue;
      const index = h.seen++;
      if (action) continue;
      if (index < (h.rule.after ?? 0)) continue;
      if (h.rule.times !== undefined && h.fired >= h.rule.times) continue;
      h.fired++;
      action = h.rule.action;
    }
    return action;
  }
}
