import { atMost5GT } from '../config/pcie.js';
import * as R from '../config/registers.js';
import type { SimFunction } from './sim-function.js';
import type { PciSimulator } from './simulator.js';

/** What a sysfs write does: how long the syscall blocks, how it ends, and the state change it leaves. */
export interface KernelOutcome {
  ms: number;
  error?: string;
  detail?: string;
  apply(): void;
}

/** The names the kernel's `reset_method` file knows (pci_reset_fn_methods[], 6.18). */
export const KERNEL_RESET_METHODS = ['device_specific', 'acpi', 'flr', 'af_flr', 'pm', 'bus', 'cxl_bus'] as const;
/** PCI_NUM_RESET_METHODS - 1 */
const MAX_METHODS = 7;
/** PCIE_RESET_READY_POLL_MS: how long pci_dev_wait() waits before it gives up with -ENOTTY. */
const READY_POLL_MS = 60000;

const nothing = (): void => {};

/**
 * The kernel side of the sysfs files, as drivers/pci/pci-sysfs.c and pci.c (6.18) behave: `reset` runs
 * pci_reset_function() (save, the method chain, wait, restore), `reset_method` selects and orders the
 * chain with probing at write time, `reset_subordinate` resets a bridge's secondary bus with save and
 * restore of everything below. The kernel's restore is complete, so what userspace sees afterwards is
 * the state from before; the reset itself shows in the simulator's reset log.
 */
export class KernelModel {
  constructor(private readonly sim: PciSimulator) {}

  write(f: SimFunction, name: string, value: string): KernelOutcome {
    if (name === 'reset_method') return this.writeResetMethod(f, value);
    if (name === 'reset') {
      const n = parseKernelUlong(value);
      if (n !== 1) return { ms: 0, error: 'EINVAL', detail: `reset accepts only 1, not ${JSON.stringify(value.trim())}`, apply: nothing };
      return this.resetFunction(f);
    }
    if (name === 'reset_subordinate') {
      const n = parseKernelUlong(value);
      if (n === null) return { ms: 0, error: 'EINVAL', detail: 'not a number', apply: nothing };
      if (n === 0) return { ms: 0, apply: nothing };
      return this.resetBus(f);
    }
    return { ms: 0, error: 'EACCES', detail: 'the simulator models writes to reset, reset_method and reset_subordinate only', apply: nothing };
  }

  /** The kernel's probe of one method against the function as it is now (pci_reset_fn_methods[m](dev, PROBE)). */
  probe(f: SimFunction, m: string): boolean {
    const layout = f.model.layout;
    if (!layout || !this.sim.reachable(f)) return false;
    switch (m) {
      case 'flr':
        return layout.pcie?.flr === true;
      case 'af_flr':
        return layout.af !== null && layout.af.tp && layout.af.flr;
      case 'pm':
        return layout.pm !== null && (f.u16(layout.pm + R.PCI_PM_CTRL) & R.PCI_PM_CTRL_NO_SOFT_RESET) === 0;
      case 'bus': {
        if (f.parent === null || layout.headerType === R.PCI_HEADER_TYPE_BRIDGE) return false;
        const parent = this.sim.get(f.parent);
        if (parent.model.layout?.headerType !== R.PCI_HEADER_TYPE_BRIDGE) return false;
        return this.sim.siblings(f).length === 0;
      }
      default:
        // device_specific, acpi, cxl_bus: not modelled, the kernel would find none here.
        return false;
    }
  }

  /** What `default` gives: every method whose probe passes, in the kernel's order. */
  defaultMethods(f: SimFunction): string[] {
    return KERNEL_RESET_METHODS.filter((m) => this.probe(f, m));
  }

  private writeResetMethod(f: SimFunction, value: string): KernelOutcome {
    const text = value.trim();
    let methods: string[];
    if (text === '') methods = [];
    else if (text === 'default') methods = this.defaultMethods(f);
    else {
      methods = text.split(' ').filter((s) => s !== '');
      if (methods.length > MAX_METHODS) return { ms: 0, error: 'EINVAL', detail: `more than ${MAX_METHODS} reset methods`, apply: nothing };
      for (const m of methods) {
        if (!(KERNEL_RESET_METHODS as readonly string[]).includes(m)) return { ms: 0, error: 'EINVAL', detail: `Invalid reset method '${m}'`, apply: nothing };
        if (!this.probe(f, m)) return { ms: 0, error: 'EINVAL', detail: `Unsupported reset method '${m}'`, apply: nothing };
      }
    }
    return {
      ms: 0,
      apply: () => {
        f.resetMethods = methods;
      },
    };
  }

  /** pci_reset_function(): methods in order, -ENOTTY moves on, anything else stops; state restored in every case. */
  resetFunction(f: SimFunction): KernelOutcome {
    const methods = f.resetMethods ?? [];
    if (f.presence === 'all-ones' || !this.sim.reachable(f)) {
      // Config reads ~0: the first method resets nothing and pci_dev_wait() gives up after 60 s.
      return { ms: methods.length ? 100 + READY_POLL_MS : 0, error: 'ENOTTY', detail: 'device not responding', apply: nothing };
    }
    let ms = 0;
    for (const m of methods) {
      if (!this.probe(f, m)) continue;
      const b = f.behaviour;
      if (m === 'flr' || m === 'af_flr') {
        ms += this.pendingWaitMs(f);
        const imm = f.model.layout!.immediateReadiness;
        ms += imm ? 0 : 100;
        if (b.neverReady) return this.dead(f, `kernel:${m}`, ms + READY_POLL_MS);
        ms += Math.max(0, b.readyDelayMs - (imm ? 0 : 100));
        return this.restored(f, [f], `kernel:${m}`, ms, true);
      }
      if (m === 'pm') {
        ms += 2 * b.d3hotMs;
        if (b.neverReady) return this.dead(f, 'kernel:pm', ms + READY_POLL_MS);
        return this.restored(f, [f], 'kernel:pm', ms, true);
      }
      if (m === 'bus') {
        const bridge = this.sim.get(f.parent!);
        ms += 2 + this.secondaryBusWaitMs(bridge);
        if (b.neverReady) return this.dead(f, 'kernel:bus', ms + READY_POLL_MS);
        const lost = this.lostRestores(bridge, [f]);
        if (!lost.size) ms += Math.max(0, bridge.behaviour.linkUpMs + b.readyDelayMs - this.secondaryBusWaitMs(bridge));
        return this.restored(f, [f], 'kernel:bus', ms, false, lost);
      }
    }
    return { ms, error: 'ENOTTY', detail: 'no reset method worked', apply: nothing };
  }

  /** `reset_subordinate`: a secondary bus reset with every function below saved and restored (__pci_reset_bus). */
  resetBus(bridge: SimFunction): KernelOutcome {
    if (bridge.model.layout?.headerType !== R.PCI_HEADER_TYPE_BRIDGE) return { ms: 0, error: 'ENOTTY', detail: 'not a bridge', apply: nothing };
    const below = this.sim.below(bridge.bdf).filter((d) => this.sim.reachable(d));
    const wait = this.secondaryBusWaitMs(bridge);
    let ms = 2 + wait;
    const first = this.sim.children(bridge.bdf)[0];
    if (first && (first.behaviour.neverReady || bridge.behaviour.linkNeverUp)) {
      ms += READY_POLL_MS;
      return { ...this.restored(bridge, below, 'kernel:bus', ms, false), error: 'ENOTTY', detail: 'device below did not come back' };
    }
    const lost = this.lostRestores(bridge, below);
    if (first && !lost.has(first.bdf)) ms += Math.max(0, bridge.behaviour.linkUpMs + first.behaviour.readyDelayMs - wait);
    return this.restored(bridge, below, 'kernel:bus', ms, false, lost);
  }

  /**
   * Functions whose restore the kernel writes before they answer: __pci_reset_bus() restores with
   * pci_bus_restore_locked() (drivers/pci/pci.c:5546), which waits pci_bridge_wait_for_secondary_bus()
   * per bridge, and that waits nothing below a PCIe-to-PCI bridge (pci.c:4865, not a downstream port).
   * A conventional function there is still inside Trhfa: its config writes are dropped.
   */
  lostRestores(bridge: SimFunction, fns: SimFunction[]): Set<string> {
    const at = new Map<string, number>();
    const walk = (b: SimFunction, t: number, depth: number): void => {
      if (depth > 64) return;
      const after = t + this.secondaryBusWaitMs(b);
      for (const c of this.sim.children(b.bdf)) {
        at.set(c.bdf, after);
        if (c.model.layout?.headerType === R.PCI_HEADER_TYPE_BRIDGE) walk(c, after, depth + 1);
      }
    };
    walk(bridge, 2, 0);
    const lost = new Set<string>();
    for (const f of fns) {
      if (this.sim.onConventionalBus(f) && (at.get(f.bdf) ?? Infinity) < f.behaviour.trhfaMs) lost.add(f.bdf);
    }
    return lost;
  }

  /** A reset the kernel finished: each function reset, then its saved writable state written back. */
  private restored(owner: SimFunction, fns: SimFunction[], kind: string, ms: number, keepLink: boolean, lost: Set<string> = new Set()): KernelOutcome {
    const hasVfs = fns.some((f) => {
      const s = f.model.layout?.sriov;
      return s != null && (f.u16(s + R.PCI_SRIOV_CTRL) & R.PCI_SRIOV_CTRL_VFE) !== 0;
    });
    return {
      // pci_restore_iov_state() sleeps 100 ms after setting VF Enable again.
      ms: ms + (hasVfs ? 100 : 0),
      apply: () => {
        for (const f of fns) {
          const saved = f.config.slice();
          this.sim.resetToPowerOn(f, kind, keepLink);
          if (lost.has(f.bdf)) {
            // The restore went out inside Trhfa and was dropped: power-on values, and still not answering.
            this.sim.resetLog.push({ t: this.sim.clock.now(), bdf: f.bdf, kind: 'restore-lost' });
            f.readyAt = this.sim.clock.now() + Math.max(0, f.behaviour.trhfaMs - ms);
            continue;
          }
          const { rw } = f.model;
          for (let i = 0; i < f.config.length; i++) f.config[i] = (saved[i]! & rw[i]!) | (f.config[i]! & ~rw[i]!);
          f.readyAt = f.behaviour.neverReady ? Infinity : -Infinity;
          f.quietUntil = -Infinity;
        }
        void owner;
      },
    };
  }

  /** The reset happened, the function never answered: the kernel's restore went nowhere. */
  private dead(f: SimFunction, kind: string, ms: number): KernelOutcome {
    return {
      ms,
      error: 'ENOTTY',
      detail: `not ready ${READY_POLL_MS}ms after ${kind}; giving up`,
      apply: () => {
        this.sim.resetToPowerOn(f, kind, true);
        f.readyAt = Infinity;
      },
    };
  }

  /** pci_wait_for_pending(): reads at 0, 100, 300, 700 ms after Bus Master went off. */
  private pendingWaitMs(f: SimFunction): number {
    const p = f.behaviour.pendingMs;
    const now = this.sim.clock.now();
    // pci_dev_save_and_disable() has just cleared Bus Master: a pending count still waiting for that starts now.
    const remaining = f.pendingUntil === Infinity ? (p === 'never' ? Infinity : p) : Math.max(0, f.pendingUntil - now);
    for (const at of [0, 100, 300, 700]) if (at >= remaining) return at;
    return 700;
  }

  /** pci_bridge_wait_for_secondary_bus(), the mandated part. */
  secondaryBusWaitMs(bridge: SimFunction): number {
    const p = bridge.model.layout?.pcie;
    if (!p) return 1100;
    if (p.type !== 'root_port' && p.type !== 'downstream_port' && p.type !== 'pci_to_pcie_bridge') return 0;
    if (atMost5GT(p.maxSpeed)) return 100;
    return p.dllLinkActiveReporting ? 20 + bridge.behaviour.linkUpMs + 100 : 1100;
  }
}

/** kstrtoul(buf, 0, &val) as sysfs uses it: decimal, 0x hex or 0 octal, one trailing newline allowed. */
export function parseKernelUlong(value: string): number | null {
  const t = value.endsWith('\n') ? value.slice(0, -1) : value;
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[0-7]*$/.test(t)) return parseInt(t, 8);
  if (/^[1-9][0-9]*$/.test(t)) return parseInt(t, 10);
  return null;
}
