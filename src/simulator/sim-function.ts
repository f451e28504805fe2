import type { RegisterModel } from './register-model.js';

/** How one simulated function behaves around a reset. Defaults in DEFAULT_BEHAVIOUR. */
export interface FunctionBehaviour {
  /** Time from the reset until config reads answer (ms). A function reads all-ones (or RRS) until then. */
  readyDelayMs: number;
  /** The function never answers again after a reset. */
  neverReady: boolean;
  /** Transactions Pending clears this long after Bus Master Enable is cleared; `never` keeps it set. */
  pendingMs: number | 'never';
  /** The reset control bit sticks: a bridge's Secondary Bus Reset cannot be cleared, Initiate FLR reads back 1. */
  stuckResetBit: boolean;
  /** The function disappears at its next reset (reads all-ones from then on). */
  vanishOnReset: boolean;
  /** Bridge: time from the end of a secondary bus reset until the link is up again (DLLLA). */
  linkUpMs: number;
  /** Bridge: the link never comes back after a secondary bus reset. */
  linkNeverUp: boolean;
  /** PM: how long the function must stay in D3hot before D0 (ms); shorter is a timing violation. */
  d3hotMs: number;
  /** Initiate FLR works although DevCap does not advertise FLR (what a quirk's `assume=flr` says, e.g. an 82599 VF). */
  flrDespiteDevCap: boolean;
  /**
   * The hardware ignores resets: an FLR, AF FLR or PM transition leaves every register as it was (a device
   * that advertises FLR but ignores it, a wrong No_Soft_Reset); on a bridge, its Secondary Bus Reset
   * reaches nothing below (a CXL port with Unmask SBR clear). Logged as `ignored:<kind>` in resetLog.
   */
  ignoresReset: boolean;
  /**
   * On a conventional PCI bus (below a PCIe-to-PCI bridge or a bridge without a PCIe capability): after
   * a bus reset the function does not answer, and drops config writes, for this long (PCI r3.0 4.3.2
   * Trhfa, 2^25 clocks: about 1 s). The 6.18 kernel restores below a PCIe-to-PCI bridge ~2 ms after the
   * reset (pci_bridge_wait_for_secondary_bus() returns 0 there): its restore is lost (issue 12 item 1).
   */
  trhfaMs: number;
}

export const DEFAULT_BEHAVIOUR: FunctionBehaviour = {
  readyDelayMs: 20,
  neverReady: false,
  pendingMs: 150,
  stuckResetBit: false,
  vanishOnReset: false,
  linkUpMs: 20,
  linkNeverUp: false,
  d3hotMs: 10,
  flrDespiteDevCap: false,
  ignoresReset: false,
  trhfaMs: 1000,
};

export type Presence = 'present' | 'all-ones' | 'removed';

/** One function's state in the simulator: its config bytes plus what the kernel shows around it. */
export class SimFunction {
  presence: Presence = 'present';
  /** Config reads answer from this instant on (after a reset). */
  readyAt = -Infinity;
  /** Software must not touch the function before this instant (the mandated wait after a reset). */
  quietUntil = -Infinity;
  quietReason = '';
  /** Transactions Pending reads set until this instant (Infinity: until Bus Master is cleared, or never). */
  pendingUntil = -Infinity;
  /** When the function entered D3hot, or null. */
  d3At: number | null = null;
  /** Bridge: when Secondary Bus Reset was asserted, or null. */
  sbrAssertedAt: number | null = null;
  /** Bridge: when the link is up again after a secondary bus reset (undefined: never reset, read as loaded). */
  linkUpAt: number | undefined;
  /** Initiate FLR reads back set (stuck reset bit after an FLR). */
  flrBitStuck = false;
  /** Times this function was reset, by kind. */
  resets = 0;

  constructor(
    readonly bdf: string,
    /** Root-relative sysfs directory. */
    readonly path: string,
    readonly parent: string | null,
    readonly physfn: string | null,
    /** For a VF: its index among the PF's VFs (virtfnN). */
    readonly vfIndex: number,
    public config: Uint8Array,
    readonly model: RegisterModel,
    readonly attrs: Map<string, string>,
    readonly links: Map<string, string>,
    /** Directory entries as loaded (reset files included when present). */
    readonly names: string[],
    /** `reset_method` content; null when the kernel made no reset files. */
    public resetMethods: string[] | null,
    readonly hasResetSubordinate: boolean,
    public behaviour: FunctionBehaviour,
  ) {}

  /** An independent copy in the same state (config, presence, timers); the register model is shared, it never changes. */
  copy(): SimFunction {
    const c = new SimFunction(
      this.bdf, this.path, this.parent, this.physfn, this.vfIndex, this.config.slice(), this.model, new Map(this.attrs), new Map(this.links),
      [...this.names], this.resetMethods === null ? null : [...this.resetMethods], this.hasResetSubordinate, { ...this.behaviour },
    );
    c.presence = this.presence;
    c.readyAt = this.readyAt;
    c.quietUntil = this.quietUntil;
    c.quietReason = this.quietReason;
    c.pendingUntil = this.pendingUntil;
    c.d3At = this.d3At;
    c.sbrAssertedAt = this.sbrAssertedAt;
    c.linkUpAt = this.linkUpAt;
    c.flrBitStuck = this.flrBitStuck;
    c.resets = this.resets;
    return c;
  }

  get bus(): number {
    return parseInt(this.bdf.slice(this.bdf.indexOf(':') + 1, this.bdf.lastIndexOf(':')), 16);
  }

  u8(o: number): number {
    return this.config[o] ?? 0xff;
  }

  u16(o: number): number {
    return this.u8(o) | (this.u8(o + 1) << 8);
  }

  u32(o: number): number {
    return (this.u16(o) | (this.u16(o + 2) << 16)) >>> 0;
  }

  set(o: number, width: number, value: number): void {
    for (let i = 0; i < width && o + i < this.config.length; i++) this.config[o + i] = (value >>> (8 * i)) & 0xff;
  }
}
