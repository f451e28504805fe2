import { AccessError } from '../access/access-error.js';
import type { ConfigWidth, PciAccess, PciFunctionEntry } from '../access/access.js';
import { pcieHasLink, pcieRegisterImplemented } from '../config/register-layout.js';
import { atMost5GT } from '../config/pcie.js';
import * as R from '../config/registers.js';
import { VirtualClock, type Clock } from '../time/clock.js';
import { FaultInjector, type FaultAction, type SimOp, type SimOpInfo } from './faults.js';
import { KernelModel, type KernelOutcome } from './kernel-model.js';
import { SimFunction } from './sim-function.js';
import { diffSnapshots, type SimDifference, type SimSnapshot } from './snapshot.js';

export interface TraceEntry {
  /** Position in the trace: operations are traced when they complete. */
  seq: number;
  /**
   * Position in the stream of operations as they were issued, which is what a fault rule's `after`
   * counts. It differs from `seq` when an asynchronous write (a `reset` that lasts the whole reset)
   * completes after operations issued later. Absent for an operation refused before it was counted.
   */
  issued?: number;
  /** Simulator time the operation was issued; `t` is when it completed (later for an asynchronous write). */
  issuedAt?: number;
  /** Simulator time (ms). */
  t: number;
  op: SimOp;
  bdf?: string;
  offset?: number;
  width?: number;
  name?: string;
  value?: number | string;
  /** `ok`, `error:EIO`, `dropped:not-ready`, `fault:drop`, … */
  outcome: string;
}

/** Something the executor did that the spec forbids: touching a function inside its mandated wait, too short a reset pulse. */
export interface Violation {
  t: number;
  bdf: string;
  what: string;
}

export interface ResetRecord {
  t: number;
  bdf: string;
  /** `flr`, `af_flr`, `pm`, `bus`, `kernel:flr`, `vf-disable`, … */
  kind: string;
}

/**
 * A PCI backend in memory, loaded from any tree (see load.ts), that behaves like hardware behind the
 * kernel's sysfs files: config writes go through per-register masks, FLR / AF FLR / PM / secondary bus
 * reset put the right functions back to power-on values, a reset function reads all-ones (or the RRS
 * Vendor ID 0x0001 when its Root Port has CRS Software Visibility on) until it is ready, Transactions
 * Pending clears only after Bus Master is off, and the sysfs `reset`, `reset_method` and
 * `reset_subordinate` files act as the kernel's do. Every operation is traced, can be made to fail
 * (`faults`), and is checked against the mandated waits (`violations`). Nothing is ever written to disk.
 */
export class PciSimulator implements PciAccess {
  readonly name = 'simulator';
  readonly faults = new FaultInjector();
  readonly trace: TraceEntry[] = [];
  readonly violations: Violation[] = [];
  readonly resetLog: ResetRecord[] = [];
  readonly kernel: KernelModel;
  private readonly fns = new Map<string, SimFunction>();
  /** Indexes of the fixed topology (parent and physfn are readonly): a lookup per config access was a pass over every function. */
  private readonly kids = new Map<string, SimFunction[]>();
  private readonly vfs = new Map<string, SimFunction[]>();
  private readonly onBus = new Map<string, SimFunction[]>();
  private seq = 0;
  private issuedCount = 0;

  constructor(
    functions: SimFunction[],
    readonly clock: Clock,
    private readonly problems: string[] = [],
  ) {
    for (const f of functions) this.fns.set(f.bdf, f);
    const push = (m: Map<string, SimFunction[]>, k: string, f: SimFunction): void => {
      const l = m.get(k);
      if (l) l.push(f);
      else m.set(k, [f]);
    };
    for (const f of this.fns.values()) {
      if (f.parent !== null) push(this.kids, f.parent, f);
      if (f.physfn !== null) push(this.vfs, f.physfn, f);
      push(this.onBus, f.bdf.slice(0, f.bdf.lastIndexOf(':')), f);
    }
    for (const l of this.vfs.values()) l.sort((a, b) => a.vfIndex - b.vfIndex);
    this.kernel = new KernelModel(this);
  }

  // ---- PciAccess -------------------------------------------------------------------------------

  listFunctions(): PciFunctionEntry[] {
    this.op({ op: 'listFunctions' });
    return [...this.fns.values()].filter((f) => f.presence !== 'removed').map((f) => ({ bdf: f.bdf, path: f.path }));
  }

  listProblems(): string[] {
    return [...this.problems];
  }

  readAttribute(bdf: string, name: string): string | null {
    const info: SimOpInfo = { op: 'readAttribute', bdf, name };
    const f = this.known(bdf, info);
    const fault = this.op(info);
    if (fault?.kind === 'value') return this.done(info, String(fault.value), 'fault:value');
    if (f.presence === 'removed') return this.done(info, null, 'absent');
    if (name === 'reset_method') return this.done(info, f.names.includes('reset_method') ? `${(f.resetMethods ?? []).join(' ')}\n` : null);
    return this.done(info, f.attrs.get(name) ?? null);
  }

  writeAttribute(bdf: string, name: string, value: string): void {
    const info: SimOpInfo = { op: 'writeAttribute', bdf, name };
    const f = this.known(bdf, info);
    const fault = this.op(info);
    if (fault?.kind === 'drop') return void this.done(info, value, 'fault:drop');
    if (fault?.kind === 'hang') this.fail(info, 'EIO', 'injected hang on a synchronous write');
    this.attributeTarget(f, info);
    // A synchronous write to `reset` completes at once in the simulator: use writeAttributeAsync for timing.
    const outcome = this.kernel.write(f, name, value);
    if (outcome.error) this.fail(info, outcome.error, outcome.detail);
    outcome.apply();
    this.done(info, value);
  }

  /** The same write as a syscall that blocks for as long as the kernel works (a `reset` waits for the device). */
  async writeAttributeAsync(bdf: string, name: string, value: string): Promise<void> {
    const info: SimOpInfo = { op: 'writeAttribute', bdf, name };
    const f = this.known(bdf, info);
    const fault = this.op(info);
    if (fault?.kind === 'drop') return void this.done(info, value, 'fault:drop');
    if (fault?.kind === 'hang') {
      this.done(info, value, 'fault:hang');
      return new Promise<void>(() => {});
    }
    this.attributeTarget(f, info);
    const outcome = this.kernel.write(f, name, value);
    if (outcome.ms > 0) await this.clock.sleep(outcome.ms);
    if (outcome.error) this.fail(info, outcome.error, outcome.detail);
    outcome.apply();
    this.done(info, value);
  }

  readLink(bdf: string, name: string): string | null {
    const info: SimOpInfo = { op: 'readLink', bdf, name };
    const f = this.known(bdf, info);
    const fault = this.op(info);
    if (fault?.kind === 'value') return this.done(info, String(fault.value), 'fault:value');
    if (f.presence === 'removed') return this.done(info, null, 'absent');
    return this.done(info, f.links.get(name) ?? null);
  }

  listAttributes(bdf: string): string[] {
    const info: SimOpInfo = { op: 'listAttributes', bdf };
    const f = this.known(bdf, info);
    this.op(info);
    if (f.presence === 'removed') this.fail(info, 'ENOENT', 'cannot list function directory');
    this.done(info, undefined);
    return [...f.names];
  }

  readConfig(bdf: string): Uint8Array | null {
    const info: SimOpInfo = { op: 'readConfig', bdf };
    const f = this.known(bdf, info);
    const fault = this.op(info);
    if (f.presence === 'removed') return this.done(info, null, 'absent');
    this.checkQuiet(f, 'config read');
    const len = f.config.length;
    let out: Uint8Array;
    if (!this.reachable(f)) out = new Uint8Array(len).fill(0xff);
    else if (!this.isReady(f)) out = this.notReadyBytes(f, 0, len);
    else out = this.view(f, 0, len);
    if (fault?.kind === 'value') out.fill(Number(fault.value) & 0xff);
    this.done(info, undefined, fault?.kind === 'value' ? 'fault:value' : this.readOutcome(f));
    return out;
  }

  readConfigAt(bdf: string, offset: number, width: ConfigWidth): number {
    checkAligned(offset, width);
    const info: SimOpInfo = { op: 'readConfigAt', bdf, offset, width };
    const f = this.known(bdf, info);
    const fault = this.op(info);
    if (fault?.kind === 'value') return this.done(info, Number(fault.value) >>> 0, 'fault:value');
    if (f.presence === 'removed') this.fail(info, 'ENOENT', 'config file gone');
    if (offset + width > f.config.length) this.fail(info, 'EIO', `short config read at 0x${offset.toString(16)} (config is ${f.config.length} bytes)`);
    const reachable = this.reachable(f);
    this.checkQuiet(f, `read at 0x${offset.toString(16)}`, reachable);
    if (!reachable) return this.done(info, width === 4 ? 0xffffffff : (1 << (8 * width)) - 1, 'ok:unreachable');
    if (!this.isReady(f)) {
      const b = this.notReadyBytes(f, offset, width);
      const v = width === 1 ? b[0]! : width === 2 ? b[0]! | (b[1]! << 8) : (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
      return this.done(info, v, this.rrsVisible(f) ? 'ok:rrs' : 'ok:not-ready');
    }
    return this.done(info, this.value(f, offset, width), 'ok');
  }

  writeConfigAt(bdf: string, offset: number, width: ConfigWidth, value: number): void {
    checkAligned(offset, width);
    const info: SimOpInfo = { op: 'writeConfigAt', bdf, offset, width };
    const f = this.known(bdf, info);
    const fault = this.op(info);
    if (fault?.kind === 'drop') return void this.done(info, value, 'fault:drop');
    if (fault?.kind === 'hang') this.fail(info, 'EIO', 'injected hang on a synchronous write');
    if (f.presence === 'removed') this.fail(info, 'ENOENT', 'config file gone');
    if (offset + width > f.config.length) this.fail(info, 'EIO', `short config write at 0x${offset.toString(16)} (config is ${f.config.length} bytes)`);
    const reachable = this.reachable(f);
    this.checkQuiet(f, `write at 0x${offset.toString(16)}`, reachable);
    if (!reachable) return void this.done(info, value, 'dropped:unreachable');
    if (!this.isReady(f)) return void this.done(info, value, 'dropped:not-ready');
    this.applyWrite(f, offset, width, value >>> 0);
    this.done(info, value);
  }

  /**
   * Run one VFIO ioctl against the model: counted and traced like every other operation, so fault rules
   * with `op: 'vfio'` (and `name`: `DEVICE_RESET`, `HOT_RESET_INFO`, `HOT_RESET`) apply.
   */
  async vfioOp(bdf: string, name: string, run: () => KernelOutcome | string): Promise<void> {
    const info: SimOpInfo = { op: 'vfio', bdf, name };
    this.known(bdf, info);
    const fault = this.op(info);
    if (fault?.kind === 'hang') {
      this.done(info, undefined, 'fault:hang');
      return new Promise<void>(() => {});
    }
    if (fault?.kind === 'drop') return void this.done(info, undefined, 'fault:drop');
    const outcome = run();
    if (typeof outcome === 'string') this.fail(info, outcome.split(':')[0]!, outcome.slice(outcome.indexOf(':') + 1).trim());
    if (outcome.ms > 0) await this.clock.sleep(outcome.ms);
    if (outcome.error) this.fail(info, outcome.error, outcome.detail);
    outcome.apply();
    this.done(info, undefined);
  }

  // ---- inspection for tests and reports ----------------------------------------------------------

  /** A function by BDF (model internals; throws for an unknown one). */
  get(bdf: string): SimFunction {
    const f = this.fns.get(bdf);
    if (!f) throw new AccessError('ENODEV', `sys/bus/pci/devices/${bdf}`, 'no such PCI function');
    return f;
  }

  get functions(): SimFunction[] {
    return [...this.fns.values()];
  }

  /** Change how a function behaves (readiness delay, stuck bits, …) from now on. */
  behave(bdf: string, behaviour: Partial<SimFunction['behaviour']>): void {
    const f = this.get(bdf);
    f.behaviour = { ...f.behaviour, ...behaviour };
  }

  /** Make a function disappear: `all-ones` (still listed, config reads ~0) or `removed` (directory gone). */
  vanish(bdf: string, how: 'all-ones' | 'removed' = 'all-ones'): void {
    this.get(bdf).presence = how;
  }

  /**
   * An independent simulator in the same state on its own clock: no trace, no fault rules. A fault sweep
   * loads a tree once and replays its scenario on clones, instead of reading the tree from disk each time.
   */
  clone(clock: Clock): PciSimulator {
    return new PciSimulator(this.functions.map((f) => f.copy()), clock, this.problems);
  }

  /** Every function's device state (config as stored, not as read), for diffing. */
  snapshot(): SimSnapshot {
    const out: SimSnapshot = new Map();
    for (const f of this.fns.values()) {
      out.set(f.bdf, {
        bdf: f.bdf,
        presence: f.presence,
        reachable: this.reachable(f),
        config: f.config.slice(),
        resetMethod: f.names.includes('reset_method') ? (f.resetMethods ?? []).join(' ') : null,
      });
    }
    return out;
  }

  /** What changed since `before`, by function and config dword. */
  diff(before: SimSnapshot): SimDifference[] {
    return diffSnapshots(before, this.snapshot());
  }

  // ---- topology ----------------------------------------------------------------------------------

  children(bdf: string): SimFunction[] {
    return [...(this.kids.get(bdf) ?? [])];
  }

  /** Every function below a bridge (what its secondary bus reset reaches), VFs included. */
  below(bdf: string): SimFunction[] {
    const out: SimFunction[] = [];
    const visit = (b: string, depth: number): void => {
      if (depth > 256) return;
      for (const c of this.children(b)) {
        out.push(c);
        visit(c.bdf, depth + 1);
      }
    };
    visit(bdf, 0);
    return out;
  }

  vfsOf(pf: string): SimFunction[] {
    return [...(this.vfs.get(pf) ?? [])];
  }

  /** Functions other than `f` on its bus (the kernel refuses `bus` for a function that has any). */
  siblings(f: SimFunction): SimFunction[] {
    const bus = f.bdf.slice(0, f.bdf.lastIndexOf(':'));
    return (this.onBus.get(bus) ?? []).filter((o) => o !== f && o.presence !== 'removed' && (o.physfn === null || this.reachable(o)));
  }

  /** Whether config cycles reach the function: present, every bridge above routes its bus and holds no reset, a VF's PF has it enabled. */
  reachable(f: SimFunction): boolean {
    if (f.presence !== 'present') return false;
    if (f.physfn !== null) {
      const pf = this.fns.get(f.physfn);
      if (!pf || !this.reachable(pf) || !pf.model.layout?.sriov) return false;
      const s = pf.model.layout.sriov;
      return (pf.u16(s + R.PCI_SRIOV_CTRL) & R.PCI_SRIOV_CTRL_VFE) !== 0 && pf.u16(s + R.PCI_SRIOV_NUM_VF) > f.vfIndex;
    }
    let child = f;
    let depth = 0;
    for (let p = f.parent; p !== null && depth < 256; depth++) {
      const b = this.fns.get(p);
      if (!b || b.presence !== 'present') return false;
      if (b.model.layout?.headerType === R.PCI_HEADER_TYPE_BRIDGE) {
        if (b.u16(R.PCI_BRIDGE_CONTROL) & R.PCI_BRIDGE_CTL_BUS_RESET) return false;
        const bus = child.bus;
        if (bus < b.u8(R.PCI_SECONDARY_BUS) || bus > b.u8(R.PCI_SUBORDINATE_BUS)) return false;
      }
      child = b;
      p = b.parent;
    }
    return true;
  }

  isReady(f: SimFunction): boolean {
    return this.clock.now() >= f.readyAt;
  }

  /** The Root Port above a function has Configuration RRS Software Visibility enabled. */
  rrsVisible(f: SimFunction): boolean {
    let depth = 0;
    for (let p = f.parent; p !== null && depth < 256; depth++) {
      const b = this.fns.get(p);
      if (!b) return false;
      const pcie = b.model.layout?.pcie;
      if (pcie?.type === 'root_port') return (b.u16(pcie.offset + R.PCI_EXP_RTCTL) & R.PCI_EXP_RTCTL_RRS_SVE) !== 0;
      p = b.parent;
    }
    return false;
  }

  pendingActive(f: SimFunction): boolean {
    return this.clock.now() < f.pendingUntil;
  }

  linkUp(bridge: SimFunction): boolean {
    if (bridge.sbrAssertedAt !== null) return false;
    return bridge.linkUpAt === undefined || this.clock.now() >= bridge.linkUpAt;
  }

  // ---- reset semantics (used by config writes and by the kernel model) ---------------------------

  /** Put a function's registers back to power-on values; `keepLink` for FLR and PM, which leave the link alone. */
  resetToPowerOn(f: SimFunction, kind: string, keepLink: boolean): void {
    const now = this.clock.now();
    if (f.behaviour.ignoresReset) {
      this.resetLog.push({ t: now, bdf: f.bdf, kind: `ignored:${kind}` });
      return;
    }
    const p = f.model.layout?.pcie;
    const link: [number, number][] = [];
    if (keepLink && p && pcieHasLink(p)) {
      for (const reg of [R.PCI_EXP_LNKCTL, R.PCI_EXP_LNKCTL2]) link.push([p.offset + reg, f.u16(p.offset + reg)]);
    }
    f.config.set(f.model.powerOn.subarray(0, f.config.length));
    for (const [o, v] of link) f.set(o, 2, v);
    f.pendingUntil = -Infinity;
    f.d3At = null;
    f.flrBitStuck = false;
    f.resets++;
    this.resetLog.push({ t: now, bdf: f.bdf, kind });
    if (f.behaviour.vanishOnReset) f.presence = 'all-ones';
    // VF Enable is now clear: the VFs are gone, and come back at power-on values when it is set again.
    for (const vf of this.vfsOf(f.bdf)) {
      vf.config.set(vf.model.powerOn.subarray(0, vf.config.length));
      this.resetLog.push({ t: now, bdf: vf.bdf, kind: 'vf-disable' });
    }
  }

  /** FLR or AF FLR: the function resets and answers again `readyDelayMs` later; 100 ms must pass before software looks. */
  functionLevelReset(f: SimFunction, kind: 'flr' | 'af_flr' | 'kernel'): void {
    const now = this.clock.now();
    this.resetToPowerOn(f, kind, true);
    f.readyAt = f.behaviour.neverReady ? Infinity : now + f.behaviour.readyDelayMs;
    const rtr = f.model.layout?.readiness?.flrMs;
    const wait = f.model.layout?.immediateReadiness ? 0 : rtr !== null && rtr !== undefined ? Math.ceil(rtr) : 100;
    if (kind !== 'kernel') this.quiet(f, now + wait, kind.toUpperCase());
    // A function reporting its FLR Time answers by then (its readyDelayMs counts from there).
    if (rtr !== null && rtr !== undefined && !f.behaviour.neverReady) f.readyAt = Math.max(f.readyAt, now + Math.ceil(rtr));
  }

  assertSecondaryReset(bridge: SimFunction): void {
    bridge.sbrAssertedAt = this.clock.now();
    bridge.linkUpAt = Infinity;
  }

  /** End of the reset pulse: everything below goes to power-on; the link trains; children answer after their delay. */
  deassertSecondaryReset(bridge: SimFunction, mandated = true): void {
    const now = this.clock.now();
    const held = bridge.sbrAssertedAt === null ? Infinity : now - bridge.sbrAssertedAt;
    if (held < 1) this.violation(bridge.bdf, `secondary bus reset held ${held.toFixed(2)} ms (Trst is at least 1 ms)`);
    bridge.sbrAssertedAt = null;
    bridge.linkUpAt = bridge.behaviour.linkNeverUp ? Infinity : now + bridge.behaviour.linkUpMs;
    const pcie = bridge.model.layout?.pcie ?? null;
    let quietUntil: number;
    if (!pcie || pcie.type === 'pcie_to_pci_bridge') quietUntil = now + 1100; // conventional PCI below: Tpvrh + Trhfa
    else if (!atMost5GT(pcie.maxSpeed) && (pcie.type === 'root_port' || pcie.type === 'downstream_port')) quietUntil = bridge.linkUpAt + 100;
    else quietUntil = now + 100;
    if (bridge.behaviour.ignoresReset) {
      // The pulse never reaches the secondary bus: nothing below is reset, the link stays up.
      this.resetLog.push({ t: now, bdf: bridge.bdf, kind: 'ignored:bus' });
      bridge.linkUpAt = now;
      return;
    }
    // PCIe r5.0 7.5.3.16: a downstream port clears LTR Mechanism Enable when its link goes down (what
    // pci_bridge_reconfigure_ltr(), drivers/pci/pcie/aspm.c:1180, puts back).
    if (pcie && pcieRegisterImplemented(pcie, R.PCI_EXP_DEVCTL2) && (pcie.type === 'root_port' || pcie.type === 'downstream_port')) {
      const o = pcie.offset + R.PCI_EXP_DEVCTL2;
      bridge.set(o, 2, bridge.u16(o) & ~R.PCI_EXP_DEVCTL2_LTR_EN);
    }
    const linkUp = this.nestedLinkUp(bridge, bridge.linkUpAt);
    for (const d of this.below(bridge.bdf)) {
      this.resetToPowerOn(d, 'bus', false);
      const up = linkUp.get(d.bdf) ?? bridge.linkUpAt;
      d.readyAt = d.behaviour.neverReady ? Infinity : Math.max(now, up) + d.behaviour.readyDelayMs;
      let quiet = quietUntil;
      // Below a switch downstream port inside the reset, the link below it trains after the upstream one:
      // 100 ms after that link is up before its devices are touched (what pci_bus_restore_locked() waits
      // for with pci_bridge_wait_for_secondary_bus() on the nested port).
      if (up > bridge.linkUpAt) quiet = Math.max(quiet, up + 100);
      // A device that reports longer Readiness Times (Reset Time, DL_Up Time) needs them.
      const rtr = d.model.layout?.readiness;
      if (rtr) {
        const need = Math.ceil(Math.max(rtr.resetMs ?? 0, rtr.dlUpMs ?? 0));
        quiet = Math.max(quiet, Math.max(now, up) + need);
        if (!d.behaviour.neverReady) d.readyAt = Math.max(d.readyAt, Math.max(now, up) + need);
      }
      if (this.onConventionalBus(d)) {
        // Trhfa: the function ignores config cycles (reads all-ones, writes dropped) for about 1 s.
        d.readyAt = Math.max(d.readyAt, now + d.behaviour.trhfaMs);
        quiet = Math.max(quiet, now + 1100);
      }
      if (mandated) this.quiet(d, quiet, 'secondary bus reset');
    }
  }

  /**
   * When the link above each function below `bridge` is up again after its reset: a nested downstream
   * port's link trains `linkUpMs` after the link above it. Also sets each nested port's own linkUpAt.
   */
  private nestedLinkUp(bridge: SimFunction, up: number, depth = 0): Map<string, number> {
    const out = new Map<string, number>();
    if (depth > 64) return out;
    for (const c of this.children(bridge.bdf)) {
      out.set(c.bdf, up);
      if (c.model.layout?.headerType !== R.PCI_HEADER_TYPE_BRIDGE) continue;
      const t = c.model.layout.pcie?.type;
      const port = t === 'root_port' || t === 'downstream_port' || t === 'pci_to_pcie_bridge';
      const below = port ? (c.behaviour.linkNeverUp ? Infinity : up + c.behaviour.linkUpMs) : up;
      if (port) c.linkUpAt = below;
      for (const [k, v] of this.nestedLinkUp(c, below, depth + 1)) out.set(k, v);
    }
    return out;
  }

  /** The function sits on a conventional PCI bus: its parent is a PCIe-to-PCI bridge or a bridge without a PCIe capability. */
  onConventionalBus(f: SimFunction): boolean {
    if (f.parent === null || f.physfn !== null) return false;
    const p = this.fns.get(f.parent);
    const layout = p?.model.layout;
    if (!layout || layout.headerType !== R.PCI_HEADER_TYPE_BRIDGE) return false;
    return layout.pcie === null || layout.pcie.type === 'pcie_to_pci_bridge';
  }

  // ---- internals ---------------------------------------------------------------------------------

  private applyWrite(f: SimFunction, offset: number, width: number, value: number): void {
    const old = f.config.slice(offset, offset + width);
    const { rw, w1c } = f.model;
    for (let i = 0; i < width; i++) {
      const b = (value >>> (8 * i)) & 0xff;
      const o = offset + i;
      let n = (old[i]! & ~rw[o]!) | (b & rw[o]!);
      n &= ~(b & w1c[o]!);
      f.config[o] = n & 0xff;
    }
    const wrote = (o: number): number | null => (o >= offset && o < offset + width ? (value >>> (8 * (o - offset))) & 0xff : null);
    const before = (o: number): number => old[o - offset]!;
    const now = this.clock.now();
    const layout = f.model.layout;
    if (!layout) return;

    if (wrote(R.PCI_COMMAND) !== null && before(R.PCI_COMMAND) & R.PCI_COMMAND_MASTER && !(f.config[R.PCI_COMMAND]! & R.PCI_COMMAND_MASTER)) {
      if (f.pendingUntil === Infinity && f.behaviour.pendingMs !== 'never') f.pendingUntil = now + f.behaviour.pendingMs;
    }
    const p = layout.pcie;
    if (p) {
      const hi = wrote(p.offset + R.PCI_EXP_DEVCTL + 1);
      if (hi !== null && hi & (R.PCI_EXP_DEVCTL_BCR_FLR >> 8) && (p.flr || f.behaviour.flrDespiteDevCap)) {
        this.functionLevelReset(f, 'flr');
        if (f.behaviour.stuckResetBit) f.flrBitStuck = true;
      }
    }
    if (layout.af) {
      const c = wrote(layout.af.offset + R.PCI_AF_CTRL);
      if (c !== null && c & R.PCI_AF_CTRL_FLR && layout.af.flr) {
        this.functionLevelReset(f, 'af_flr');
        if (f.behaviour.stuckResetBit) f.flrBitStuck = true;
      }
    }
    if (layout.pm !== null && wrote(layout.pm + R.PCI_PM_CTRL) !== null) {
      const o = layout.pm + R.PCI_PM_CTRL;
      const from = before(o) & R.PCI_PM_CTRL_STATE_MASK;
      const to = f.config[o]! & R.PCI_PM_CTRL_STATE_MASK;
      if (from !== R.PCI_D3HOT && to === R.PCI_D3HOT) f.d3At = now;
      if (from === R.PCI_D3HOT && to === R.PCI_D0) {
        const dwell = f.d3At === null ? Infinity : now - f.d3At;
        if (dwell < f.behaviour.d3hotMs) this.violation(f.bdf, `D3hot->D0 after ${dwell.toFixed(1)} ms in D3hot (the function needs ${f.behaviour.d3hotMs} ms)`);
        f.d3At = null;
        if (!(f.u16(o) & R.PCI_PM_CTRL_NO_SOFT_RESET)) {
          this.resetToPowerOn(f, 'pm', true);
          const delay = f.behaviour.d3hotMs;
          f.readyAt = f.behaviour.neverReady ? Infinity : now + delay;
          this.quiet(f, now + delay, 'PM D3hot->D0');
        }
      }
    }
    if (layout.headerType === R.PCI_HEADER_TYPE_BRIDGE && wrote(R.PCI_BRIDGE_CONTROL) !== null) {
      const was = (before(R.PCI_BRIDGE_CONTROL) & R.PCI_BRIDGE_CTL_BUS_RESET) !== 0;
      const is = (f.config[R.PCI_BRIDGE_CONTROL]! & R.PCI_BRIDGE_CTL_BUS_RESET) !== 0;
      if (!was && is) this.assertSecondaryReset(f);
      if (was && !is) {
        if (f.behaviour.stuckResetBit) f.config[R.PCI_BRIDGE_CONTROL] = f.config[R.PCI_BRIDGE_CONTROL]! | R.PCI_BRIDGE_CTL_BUS_RESET;
        else this.deassertSecondaryReset(f);
      }
    }
    if (layout.sriov !== null && wrote(layout.sriov + R.PCI_SRIOV_CTRL) !== null) {
      const o = layout.sriov + R.PCI_SRIOV_CTRL;
      const was = (before(o) & R.PCI_SRIOV_CTRL_VFE) !== 0;
      const is = (f.config[o]! & R.PCI_SRIOV_CTRL_VFE) !== 0;
      if (was !== is) {
        for (const vf of this.vfsOf(f.bdf)) {
          vf.config.set(vf.model.powerOn.subarray(0, vf.config.length));
          this.resetLog.push({ t: now, bdf: vf.bdf, kind: is ? 'vf-enable' : 'vf-disable' });
          if (is) {
            // SR-IOV r1.1 3.3.3.1: 100 ms after VF Enable before a VF is touched.
            vf.readyAt = now + 100;
            this.quiet(vf, now + 100, 'VF Enable');
          }
        }
      }
    }
  }

  /** One register of a ready function as read: view() without the copy (the hot path of every poll and restore). */
  private value(f: SimFunction, offset: number, width: number): number {
    const c = f.config;
    let v = width === 1 ? c[offset]! : width === 2 ? c[offset]! | (c[offset + 1]! << 8) : (c[offset]! | (c[offset + 1]! << 8) | (c[offset + 2]! << 16) | (c[offset + 3]! << 24)) >>> 0;
    const layout = f.model.layout;
    if (!layout) return v;
    const patch = (o: number, mask: number, on: boolean): void => {
      if (o < offset || o >= offset + width) return;
      const m = (mask << (8 * (o - offset))) >>> 0;
      v = (on ? v | m : v & ~m) >>> 0;
    };
    if (layout.pcie) {
      const o = layout.pcie.offset;
      if (offset <= o + R.PCI_EXP_LNKSTA + 1 && offset + width > o + R.PCI_EXP_DEVCTL) {
        const pending = this.pendingActive(f);
        patch(o + R.PCI_EXP_DEVSTA, R.PCI_EXP_DEVSTA_TRPND, pending);
        patch(o + R.PCI_EXP_DEVCTL + 1, R.PCI_EXP_DEVCTL_BCR_FLR >> 8, f.flrBitStuck);
        if (f.linkUpAt !== undefined && layout.pcie.dllLinkActiveReporting) patch(o + R.PCI_EXP_LNKSTA + 1, R.PCI_EXP_LNKSTA_DLLLA >> 8, this.linkUp(f));
      }
    }
    if (layout.af && offset <= layout.af.offset + R.PCI_AF_STATUS && offset + width > layout.af.offset + R.PCI_AF_CTRL) {
      patch(layout.af.offset + R.PCI_AF_STATUS, R.PCI_AF_STATUS_TP, this.pendingActive(f));
      patch(layout.af.offset + R.PCI_AF_CTRL, R.PCI_AF_CTRL_FLR, f.flrBitStuck);
    }
    return v >>> 0;
  }

  /** Bytes of a ready function as read, with the bits that change on their own (TRPND, DLLLA) filled in. */
  private view(f: SimFunction, offset: number, len: number): Uint8Array {
    const out = f.config.slice(offset, offset + len);
    const patch = (o: number, mask: number, on: boolean): void => {
      if (o < offset || o >= offset + len) return;
      out[o - offset] = on ? out[o - offset]! | mask : out[o - offset]! & ~mask;
    };
    const layout = f.model.layout;
    const pending = this.pendingActive(f);
    if (layout?.pcie) {
      const o = layout.pcie.offset;
      patch(o + R.PCI_EXP_DEVSTA, R.PCI_EXP_DEVSTA_TRPND, pending);
      patch(o + R.PCI_EXP_DEVCTL + 1, R.PCI_EXP_DEVCTL_BCR_FLR >> 8, f.flrBitStuck);
      if (f.linkUpAt !== undefined && layout.pcie.dllLinkActiveReporting) patch(o + R.PCI_EXP_LNKSTA + 1, R.PCI_EXP_LNKSTA_DLLLA >> 8, this.linkUp(f));
    }
    if (layout?.af) {
      patch(layout.af.offset + R.PCI_AF_STATUS, R.PCI_AF_STATUS_TP, pending);
      patch(layout.af.offset + R.PCI_AF_CTRL, R.PCI_AF_CTRL_FLR, f.flrBitStuck);
    }
    return out;
  }

  /** A function still initialising: all-ones, except the Vendor ID reads 0x0001 when its Root Port returns RRS to software. */
  private notReadyBytes(f: SimFunction, offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len).fill(0xff);
    if (this.rrsVisible(f)) {
      if (offset === 0) out[0] = R.PCI_VENDOR_ID_RRS;
      if (offset <= 1 && offset + len > 1) out[1 - offset] = 0x00;
    }
    return out;
  }

  private readOutcome(f: SimFunction): string {
    if (!this.reachable(f)) return 'ok:unreachable';
    if (!this.isReady(f)) return this.rrsVisible(f) ? 'ok:rrs' : 'ok:not-ready';
    return 'ok';
  }

  private quiet(f: SimFunction, until: number, reason: string): void {
    f.quietUntil = until;
    f.quietReason = reason;
  }

  private checkQuiet(f: SimFunction, what: string, reachable?: boolean): void {
    const now = this.clock.now();
    if (now < f.quietUntil && f.quietUntil !== Infinity && (reachable ?? this.reachable(f))) {
      this.violation(f.bdf, `${what} ${(f.quietUntil - now).toFixed(1)} ms before the mandated wait after ${f.quietReason} ended`);
    }
  }

  violation(bdf: string, what: string): void {
    this.violations.push({ t: this.clock.now(), bdf, what });
  }

  private known(bdf: string, info: SimOpInfo): SimFunction {
    const f = this.fns.get(bdf);
    if (!f) this.fail(info, 'ENODEV', 'no such PCI function');
    return f;
  }

  private attributeTarget(f: SimFunction, info: SimOpInfo): void {
    if (f.presence === 'removed') this.fail(info, 'ENOENT', `cannot open ${info.name} for writing`);
    if (!f.names.includes(info.name!)) this.fail(info, 'ENOENT', `cannot open ${info.name} for writing`);
  }

  /** Count the operation against the fault rules; errors are thrown here, other actions returned. */
  private op(info: SimOpInfo): FaultAction | null {
    info.issued = this.issuedCount++;
    info.issuedAt = this.clock.now();
    const action = this.faults.check(info);
    if (!action) return null;
    if (action.kind === 'error') this.fail(info, action.code, 'injected fault');
    if (action.kind === 'vanish' && info.bdf) {
      const f = this.fns.get(info.bdf);
      if (f) f.presence = action.how ?? 'all-ones';
      return null;
    }
    if (action.kind === 'slow') {
      this.block(action.ms);
      return null;
    }
    return action;
  }

  /** The calling thread is stuck in the kernel for `ms`: virtual time jumps; real time really blocks. */
  private block(ms: number): void {
    if (this.clock instanceof VirtualClock) this.clock.advance(ms);
    else if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }

  private done<T>(info: SimOpInfo, value: T, outcome = 'ok'): T {
    const entry: TraceEntry = { seq: this.seq++, t: this.clock.now(), op: info.op, outcome };
    if (info.issued !== undefined) entry.issued = info.issued;
    if (info.issuedAt !== undefined) entry.issuedAt = info.issuedAt;
    if (info.bdf !== undefined) entry.bdf = info.bdf;
    if (info.offset !== undefined) entry.offset = info.offset;
    if (info.width !== undefined) entry.width = info.width;
    if (info.name !== undefined) entry.name = info.name;
    if (typeof value === 'number' || typeof value === 'string') entry.value = value;
    this.trace.push(entry);
    return value;
  }

  private fail(info: SimOpInfo, code: string, detail?: string): never {
    this.trace.push({ seq: this.seq++, t: this.clock.now(), ...info, outcome: `error:${code}` });
    const where = info.bdf ? `sys/bus/pci/devices/${info.bdf}/${info.name ?? 'config'}` : 'sys/bus/pci/devices';
    const at = info.offset !== undefined ? `${detail ? `${detail} ` : ''}at 0x${info.offset.toString(16)}` : detail;
    throw new AccessError(code, where, at);
  }
}

function checkAligned(offset: number, width: ConfigWidth): void {
  if (offset < 0 || offset > 0xfff || offset % width !== 0) {
    throw new AccessError('EINVAL', `offset 0x${offset.toString(16)}`, `config access of ${width} bytes must be aligned and below 0x1000`);
  }
}

