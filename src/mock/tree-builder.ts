import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeConfig } from '../config/decode.js';
import { busKey, compareBdf, parseBdf } from '../pci/bdf.js';
import { enumerationResetMethods, type ResetFlags } from '../topology/reset-methods.js';
import { buildConfig, type ConfigSpec } from './config-builder.js';

/** One function of a mock tree: its config space plus what sysfs says around it. */
export interface MockFunction extends Omit<ConfigSpec, 'multiFunction' | 'isVf'> {
  /** The upstream bridge; absent for a function on a root bus. */
  parent?: string;
  /** Multi-function bit; by default set when other functions share the device number. */
  multiFunction?: boolean;
  /** For an SR-IOV VF: its PF. */
  physfn?: string;
  driver?: string;
  iommuGroup?: number;
  /** Override the kernel's `reset_method` listing; null = no `reset`/`reset_method` files. Default: what the kernel lists at enumeration. */
  resetMethod?: string[] | null;
  /** Kernel quirk flags that shaped the kernel's listing. */
  flags?: ResetFlags;
  /** Cut `config` to this many bytes (an unprivileged read gives 64). */
  configSize?: number;
  /** Raw edits to the config bytes, for broken-device tests. */
  patchConfig?: (bytes: Uint8Array) => void;
  irq?: number;
}

/** Extra files anywhere in the tree (proc/cmdline, ACPI tables, sys/class/iommu/…). */
export type MockFiles = Record<string, string | Uint8Array>;

/**
 * Writes a tree laid out like the kernel's: nested `sys/devices/pciDDDD:BB/...` directories, relative
 * `sys/bus/pci/devices/<BDF>` links, relative `driver`, `iommu_group`, `physfn`, `virtfnN` links,
 * `reset`/`reset_method` only where the kernel would create them, and config bytes consistent with the
 * text attributes. lspci reads these trees with `-A linux-sysfs -O sysfs.path=ROOT/sys/bus/pci`.
 */
export class MockTree {
  private readonly fns = new Map<string, MockFunction>();
  private readonly files: MockFiles = {};
  private readonly links: Record<string, string> = {};

  add(fn: MockFunction): this {
    if (!parseBdf(fn.bdf)) throw new Error(`mock: ${fn.bdf} is not a BDF`);
    if (this.fns.has(fn.bdf)) throw new Error(`mock: ${fn.bdf} added twice`);
    this.fns.set(fn.bdf, fn);
    return this;
  }

  addAll(fns: MockFunction[]): this {
    for (const f of fns) this.add(f);
    return this;
  }

  /** A plain file under the root (`proc/cmdline`, `sys/firmware/acpi/tables/DMAR`, …). */
  file(rel: string, content: string | Uint8Array): this {
    this.files[rel] = content;
    return this;
  }

  /** A symlink under the root, target as given (relative or absolute). */
  link(rel: string, target: string): this {
    this.links[rel] = target;
    return this;
  }

  get functions(): MockFunction[] {
    return [...this.fns.values()];
  }

  /** The config bytes a function's file will hold. */
  configOf(bdf: string): Uint8Array {
    const fn = this.fns.get(bdf);
    if (!fn) throw new Error(`mock: no function ${bdf}`);
    return this.bytes(fn);
  }

  write(rootDir: string): string {
    fs.mkdirSync(rootDir, { recursive: true });
    const pciDevices = path.join(rootDir, 'sys/bus/pci/devices');
    fs.mkdirSync(pciDevices, { recursive: true });
    fs.mkdirSync(path.join(rootDir, 'sys/bus/pci/drivers'), { recursive: true });
    const dirs = new Map<string, string>();
    const order = [...this.fns.keys()].sort(compareBdf);
    const dirOf = (bdf: string, depth = 0): string => {
      const known = dirs.get(bdf);
      if (known) return known;
      if (depth > 64) throw new Error(`mock: parent loop at ${bdf}`);
      const fn = this.fns.get(bdf)!;
      const parentKey = fn.physfn ? this.fns.get(fn.physfn)?.parent : fn.parent;
      let base: string;
      if (parentKey) {
        if (!this.fns.has(parentKey)) throw new Error(`mock: ${bdf}'s parent ${parentKey} is not in the tree`);
        base = dirOf(parentKey, depth + 1);
      } else {
        // A function on a root bus sits under the host bridge directory of its own bus.
        base = path.join(rootDir, 'sys/devices', `pci${busKey(bdf)}`);
      }
      const dir = path.join(base, bdf);
      dirs.set(bdf, dir);
      return dir;
    };

    for (const bdf of order) {
      const fn = this.fns.get(bdf)!;
      const dir = dirOf(bdf);
      fs.mkdirSync(dir, { recursive: true });
      const bytes = this.bytes(fn);
      const full = fn.configSize === undefined ? bytes : bytes.subarray(0, fn.configSize);
      fs.writeFileSync(path.join(dir, 'config'), full, { mode: 0o644 });
      const attr = (name: string, value: string, mode = 0o444): void =>
        fs.writeFileSync(path.join(dir, name), value, { mode });
      const h4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}\n`;
      attr('vendor', h4(fn.vendor));
      attr('device', h4(fn.device));
      attr('class', `0x${fn.classCode.toString(16).padStart(6, '0')}\n`);
      attr('revision', `0x${(fn.revision ?? 0).toString(16).padStart(2, '0')}\n`);
      attr('subsystem_vendor', h4(fn.bridge ? 0 : (fn.subsystemVendor ?? 0)));
      attr('subsystem_device', h4(fn.bridge ? 0 : (fn.subsystemDevice ?? 0)));
      attr('irq', `${fn.irq ?? 0}\n`);
      attr('enable', fn.driver ? '1\n' : '0\n', 0o644);
      attr('resource', resourceLines(bytes, !!fn.bridge));
      const methods = this.kernelListing(fn, bytes);
      if (methods !== null) {
        attr('reset_method', `${methods.join(' ')}\n`, 0o644);
        attr('reset', '', 0o200);
      }
      const rel = (target: string): string => path.relative(dir, target);
      fs.symlinkSync(rel(path.join(rootDir, 'sys/bus/pci')), path.join(dir, 'subsystem'));
      if (fn.driver) {
        const drv = path.join(rootDir, 'sys/bus/pci/drivers', fn.driver);
        fs.mkdirSync(drv, { recursive: true });
        fs.symlinkSync(rel(drv), path.join(dir, 'driver'));
        fs.symlinkSync(path.relative(drv, dir), path.join(drv, bdf));
      }
      if (fn.iommuGroup !== undefined) {
        const grp = path.join(rootDir, 'sys/kernel/iommu_groups', String(fn.iommuGroup));
        fs.mkdirSync(path.join(grp, 'devices'), { recursive: true });
        if (!fs.existsSync(path.join(grp, 'type'))) fs.writeFileSync(path.join(grp, 'type'), 'DMA\n');
        fs.symlinkSync(rel(grp), path.join(dir, 'iommu_group'));
        fs.symlinkSync(path.relative(path.join(grp, 'devices'), dir), path.join(grp, 'devices', bdf));
      }
      fs.symlinkSync(path.relative(pciDevices, dir), path.join(pciDevices, bdf));
    }
    // SR-IOV links once every directory exists; virtfnN numbers VFs in BDF order.
    const vfIndex = new Map<string, number>();
    for (const bdf of order) {
      const fn = this.fns.get(bdf)!;
      if (!fn.physfn) continue;
      const pf = dirs.get(fn.physfn);
      if (!pf) throw new Error(`mock: ${bdf}'s PF ${fn.physfn} is not in the tree`);
      const vfDir = dirs.get(bdf)!;
      fs.symlinkSync(path.relative(vfDir, pf), path.join(vfDir, 'physfn'));
      const index = vfIndex.get(fn.physfn) ?? 0;
      vfIndex.set(fn.physfn, index + 1);
      fs.symlinkSync(path.relative(pf, vfDir), path.join(pf, `virtfn${index}`));
    }
    for (const [rel, content] of Object.entries(this.files)) {
      const p = path.join(rootDir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    }
    for (const [rel, target] of Object.entries(this.links)) {
      const p = path.join(rootDir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.symlinkSync(target, p);
    }
    return rootDir;
  }

  private bytes(fn: MockFunction): Uint8Array {
    const bytes = buildConfig({
      ...fn,
      multiFunction: fn.multiFunction ?? this.sharesDevice(fn),
      isVf: fn.physfn !== undefined,
      command: fn.command ?? (fn.driver ? 0x0406 : 0x0000),
    });
    fn.patchConfig?.(bytes);
    return bytes;
  }

  /** Other non-VF functions with the same bus and device number (sets the multi-function bit). */
  private sharesDevice(fn: MockFunction): boolean {
    if (fn.physfn) return false;
    const dev = fn.bdf.slice(0, fn.bdf.lastIndexOf('.'));
    return (this.index().byDevice.get(dev) ?? 0) > 1;
  }

  private cachedIndex: { byDevice: Map<string, number>; byBus: Map<string, MockFunction[]>; size: number } | null = null;

  private index(): { byDevice: Map<string, number>; byBus: Map<string, MockFunction[]> } {
    if (this.cachedIndex && this.cachedIndex.size === this.fns.size) return this.cachedIndex;
    const byDevice = new Map<string, number>();
    const byBus = new Map<string, MockFunction[]>();
    for (const f of this.fns.values()) {
      if (f.physfn) continue;
      const dev = f.bdf.slice(0, f.bdf.lastIndexOf('.'));
      byDevice.set(dev, (byDevice.get(dev) ?? 0) + 1);
      const bus = busKey(f.bdf);
      let list = byBus.get(bus);
      if (!list) byBus.set(bus, (list = []));
      list.push(f);
    }
    this.cachedIndex = { byDevice, byBus, size: this.fns.size };
    return this.cachedIndex;
  }

  /** What the kernel lists in `reset_method` at enumeration (null: no reset files). */
  private kernelListing(fn: MockFunction, bytes: Uint8Array): string[] | null {
    if (fn.resetMethod !== undefined) return fn.resetMethod;
    const decoded = decodeConfig(bytes);
    // The kernel adds a function to its bus's list after probing its reset methods; functions scanned
    // earlier (lower devfn) are already there. VFs come later still, so their PF is always there.
    const devfn = (b: string): number => {
      const p = parseBdf(b)!;
      return (p.dev << 3) | p.fn;
    };
    const mine = devfn(fn.bdf);
    const earlierOnBus = (this.index().byBus.get(busKey(fn.bdf)) ?? []).filter((o) => devfn(o.bdf) < mine).length;
    const listed = enumerationResetMethods(
      decoded,
      { hasUpstreamBridge: !!(fn.physfn ? this.fns.get(fn.physfn)?.parent : fn.parent), earlierOnBus, isVf: !!fn.physfn },
      fn.flags,
    );
    return listed.length ? listed : null;
  }
}

/** The `resource` file: start, end, flags per BAR (6 for type 0, then the ROM and bridge windows). */
function resourceLines(bytes: Uint8Array, bridge: boolean): string {
  const zero = '0x0000000000000000 0x0000000000000000 0x0000000000000000\n';
  const lines: string[] = [];
  const bars = bridge ? 2 : 6;
  for (let i = 0; i < bars; i++) {
    const o = 0x10 + i * 4;
    const v = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
    if (v === 0 || v & 1) {
      lines.push(zero);
      continue;
    }
    const start = v & ~0xf;
    const end = start + 0xfff;
    lines.push(`0x${hex16(start)} 0x${hex16(end)} 0x${hex16(0x40200)}\n`);
  }
  while (lines.length < 13) lines.push(zero);
  return lines.join('');
}

function hex16(n: number): string {
  return (n >>> 0).toString(16).padStart(16, '0');
}
