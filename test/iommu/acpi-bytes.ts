/**
 * Builders for ACPI DMAR and IVRS tables, byte for byte from their documented layouts
 * (include/acpi/actbl1.h, actbl2.h; VT-d spec ch. 8; AMD IOMMU spec 5.2). Tests build real-world tables
 * with these; fuzzers can start from them and damage the bytes.
 *
 * Every builder returns a fresh Uint8Array; `acpiTable` fills the header and fixes the checksum.
 */

/** Little-endian byte writer. */
export class Bytes {
  private readonly out: number[] = [];

  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }

  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }

  u64(v: bigint | number): this {
    const b = BigInt(v);
    return this.u32(Number(b & 0xffff_ffffn)).u32(Number((b >> 32n) & 0xffff_ffffn));
  }

  /** Fixed-width ASCII, NUL- or space-padded. */
  ascii(s: string, width: number, pad = ' '): this {
    for (let i = 0; i < width; i++) this.u8(i < s.length ? s.charCodeAt(i) : pad.charCodeAt(0));
    return this;
  }

  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }

  raw(b: Uint8Array): this {
    for (const x of b) this.out.push(x);
    return this;
  }

  get length(): number {
    return this.out.length;
  }

  build(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export interface HeaderSpec {
  revision?: number;
  oemId?: string;
  oemTableId?: string;
  oemRevision?: number;
  creatorId?: string;
  creatorRevision?: number;
}

/** A whole table: the 36-byte header over `body`, length and checksum filled in. */
export function acpiTable(signature: string, body: Uint8Array, h: HeaderSpec = {}): Uint8Array {
  const b = new Bytes()
    .ascii(signature, 4)
    .u32(36 + body.length)
    .u8(h.revision ?? 1)
    .u8(0)
    .ascii(h.oemId ?? 'TESTOE', 6)
    .ascii(h.oemTableId ?? 'TESTTBL ', 8)
    .u32(h.oemRevision ?? 1)
    .ascii(h.creatorId ?? 'TEST', 4)
    .u32(h.creatorRevision ?? 1)
    .raw(body)
    .build();
  return fixChecksum(b);
}

/** Set byte 9 so that all bytes sum to 0 mod 256. */
export function fixChecksum(t: Uint8Array): Uint8Array {
  t[9] = 0;
  let sum = 0;
  for (const x of t) sum = (sum + x) & 0xff;
  t[9] = (0x100 - sum) & 0xff;
  return t;
}

/** Flip the checksum byte so the sum is no longer 0. */
export function breakChecksum(t: Uint8Array): Uint8Array {
  const c = Uint8Array.from(t);
  c[9] = (c[9]! + 1) & 0xff;
  return c;
}

// ---- DMAR ---------------------------------------------------------------------------------------

export const SCOPE = { ENDPOINT: 1, BRIDGE: 2, IOAPIC: 3, HPET: 4, NAMESPACE: 5 } as const;

export interface ScopeSpec {
  type: number;
  startBus: number;
  path: [device: number, fn: number][];
  enumerationId?: number;
  flags?: number;
}

/** `struct acpi_dmar_device_scope` + path. */
export function deviceScope(s: ScopeSpec): Uint8Array {
  const b = new Bytes()
    .u8(s.type)
    .u8(6 + 2 * s.path.length)
    .u8(s.flags ?? 0)
    .u8(0)
    .u8(s.enumerationId ?? 0)
    .u8(s.startBus);
  for (const [d, f] of s.path) b.u8(d).u8(f);
  return b.build();
}

function structure(type: number, fixed: (b: Bytes) => void, fixedLength: number, tail: Uint8Array[] = []): Uint8Array {
  const rest = tail.reduce((n, t) => n + t.length, 0);
  const b = new Bytes().u16(type).u16(fixedLength + rest);
  fixed(b);
  for (const t of tail) b.raw(t);
  return b.build();
}

export interface DrhdSpec {
  base: bigint | number;
  includePciAll?: boolean;
  flags?: number;
  /** Register set size exponent: 2^size × 4 KiB. */
  size?: number;
  segment?: number;
  scopes?: Uint8Array[];
}

/** Type 0: `struct acpi_dmar_hardware_unit` (16 bytes) + scopes. */
export function drhd(d: DrhdSpec): Uint8Array {
  return structure(0, (b) => b.u8(d.flags ?? (d.includePciAll ? 1 : 0)).u8(d.size ?? 0).u16(d.segment ?? 0).u64(d.base), 16, d.scopes);
}

/** Type 1: `struct acpi_dmar_reserved_memory` (24 bytes) + scopes. */
export function rmrr(r: { base: bigint | number; limit: bigint | number; segment?: number; scopes?: Uint8Array[] }): Uint8Array {
  return structure(1, (b) => b.u16(0).u16(r.segment ?? 0).u64(r.base).u64(r.limit), 24, r.scopes);
}

/** Type 2: `struct acpi_dmar_atsr` (8 bytes) + scopes. */
export function atsr(a: { allPorts?: boolean; segment?: number; scopes?: Uint8Array[] }): Uint8Array {
  return structure(2, (b) => b.u8(a.allPorts ? 1 : 0).u8(0).u16(a.segment ?? 0), 8, a.scopes);
}

/** Type 3: `struct acpi_dmar_rhsa` (20 bytes). */
export function rhsa(r: { base: bigint | number; proximity: number }): Uint8Array {
  return structure(3, (b) => b.u32(0).u64(r.base).u32(r.proximity), 20);
}

/** Type 4: `struct acpi_dmar_andd` (8 bytes) + NUL-terminated ACPI name. */
export function andd(a: { deviceNumber: number; name: string }): Uint8Array {
  const name = new Bytes().ascii(a.name, a.name.length).u8(0).build();
  return structure(4, (b) => b.zeros(3).u8(a.deviceNumber), 8, [name]);
}

/** Type 5: `struct acpi_dmar_satc` (8 bytes) + scopes. */
export function satc(s: { atcRequired?: boolean; segment?: number; scopes?: Uint8Array[] }): Uint8Array {
  return structure(5, (b) => b.u8(s.atcRequired ? 1 : 0).u8(0).u16(s.segment ?? 0), 8, s.scopes);
}

/** Any structure header with a chosen (possibly wrong) length and body, for damaged tables. */
export function rawStructure(type: number, length: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new Bytes().u16(type).u16(length).raw(body).build();
}

export interface DmarSpec {
  /** Address width in bits (the table stores width − 1). */
  hostAddressWidth?: number;
  intrRemap?: boolean;
  x2apicOptOut?: boolean;
  platformOptIn?: boolean;
  structures: Uint8Array[];
  header?: HeaderSpec;
}

/** `struct acpi_table_dmar`: header, width, flags, 10 reserved bytes, remapping structures from offset 48. */
export function dmarTable(d: DmarSpec): Uint8Array {
  const flags = (d.intrRemap ? 1 : 0) | (d.x2apicOptOut ? 2 : 0) | (d.platformOptIn ? 4 : 0);
  const body = new Bytes().u8((d.hostAddressWidth ?? 46) - 1).u8(flags).zeros(10);
  for (const s of d.structures) body.raw(s);
  return acpiTable('DMAR', body.build(), d.header);
}

/** A PCI function as QEMU's ACPI builders walk them (hw/i386/acpi-build.c). */
export interface QemuNode {
  dev: number;
  fn: number;
  /** A bridge: its secondary and subordinate bus, whether the secondary bus is PCIe, and what sits on it. */
  bridge?: { sec: number; sub: number; express: boolean; pcieToPci?: boolean; children: QemuNode[] };
}

/**
 * The e2e guest (e2e/driver.mjs, REPORT.md's run-qemu.sh): q35 host bridge, four root ports with an e1000e,
 * an NVMe, a PCIe-to-PCI bridge with an e1000, an x3130 switch with a virtio-net; ICH9 LPC/AHCI/SMBus.
 */
export function e2eGuestRootBus(): QemuNode[] {
  const leaf = (dev: number, sec: number): QemuNode => ({ dev, fn: 0, bridge: { sec, sub: sec, express: true, children: [{ dev: 0, fn: 0 }] } });
  return [
    { dev: 0, fn: 0 },
    leaf(1, 1),
    leaf(2, 2),
    { dev: 3, fn: 0, bridge: { sec: 3, sub: 4, express: true, children: [{ dev: 0, fn: 0, bridge: { sec: 4, sub: 4, express: false, pcieToPci: true, children: [{ dev: 1, fn: 0 }] } }] } },
    { dev: 4, fn: 0, bridge: { sec: 5, sub: 7, express: true, children: [{ dev: 0, fn: 0, bridge: { sec: 6, sub: 7, express: true, children: [leaf(0, 7)] } }] } },
    { dev: 0x1f, fn: 0 },
    { dev: 0x1f, fn: 2 },
    { dev: 0x1f, fn: 3 },
  ];
}

const QEMU_HEADER: HeaderSpec = { revision: 1, oemId: 'BOCHS ', oemTableId: 'BXPC    ', oemRevision: 1, creatorId: 'BXPC', creatorRevision: 1 };

/**
 * QEMU's q35 DMAR for `-device intel-iommu,intremap=on` (hw/i386/acpi-build.c build_dmar_q35, QEMU 6.1+
 * incl. the 7.2 of the e2e recipe): OEM "BOCHS "/"BXPC    ", creator "BXPC" 1; host address width
 * aw-bits − 1 (39 by default); flags INTR_REMAP; one DRHD at 0xfed90000 (Q35_HOST_BRIDGE_IOMMU_ADDR),
 * segment 0, flags 0 ("Don't include all pci device") with the IOAPIC scope (id 0, bus 0xff = the Q35
 * pseudo platform bus, path 00.0) and then one scope per function on the root bus: type 2 (bridge) for
 * bridges, 1 (endpoint) otherwise, one hop each. For the e2e guest that is 8 scopes, 136 (0x88) bytes:
 * the size the guest's "ACPI: DMAR 0x… 000088 (v01 BOCHS  BXPC …)" boot line shows.
 * `legacy` builds the QEMU ≤ 6.0 table instead: INCLUDE_PCI_ALL and only the IOAPIC scope (72 bytes).
 * `deviceIotlb` adds the ATSR (ALL_PORTS) QEMU emits for device-iotlb=on.
 */
export function qemuQ35Dmar(opts: { rootBus?: QemuNode[]; legacy?: boolean; deviceIotlb?: boolean; awBits?: number; intremap?: boolean } = {}): Uint8Array {
  const scopes = [deviceScope({ type: SCOPE.IOAPIC, enumerationId: 0, startBus: 0xff, path: [[0, 0]] })];
  if (!opts.legacy) {
    for (const n of opts.rootBus ?? e2eGuestRootBus()) scopes.push(deviceScope({ type: n.bridge ? SCOPE.BRIDGE : SCOPE.ENDPOINT, startBus: 0, path: [[n.dev, n.fn]] }));
  }
  const structures = [drhd({ base: 0xfed90000, includePciAll: !!opts.legacy, segment: 0, scopes })];
  if (opts.deviceIotlb) structures.push(atsr({ allPorts: true, segment: 0 }));
  return dmarTable({ hostAddressWidth: opts.awBits ?? 39, intrRemap: opts.intremap !== false, structures, header: QEMU_HEADER });
}

/**
 * QEMU's IVRS for `-device amd-iommu` (build_amd_iommu): IVinfo PASize 40; one IVHD type 0x10, flags
 * HtTunEn|IotlbSup|PrefSup|PPRSup (0xd1), the IOMMU's own device ID, capability offset 0x40, MMIO base
 * 0xfed80000 (AMDVI_BASE_ADDR); entries from a walk of the buses: SELECT per function; for a bridge, a
 * RANGE over a PCIe leaf bus, a walk of a PCIe bus with more below, or an ALIAS range for a
 * conventional secondary bus; then the IOAPIC special entry (00:14.0) when interrupt remapping is on.
 */
export function qemuQ35Ivrs(opts: { rootBus?: QemuNode[]; iommuDevid?: number; intremap?: boolean } = {}): Uint8Array {
  const entries: Uint8Array[] = [];
  const walk = (bus: number, nodes: QemuNode[]): void => {
    for (const n of nodes) {
      entries.push(ivhdEntry.select(devid(bus, n.dev, n.fn)));
      const b = n.bridge;
      if (!b) continue;
      if (b.express) {
        if (b.sec === b.sub) {
          entries.push(ivhdEntry.rangeStart(devid(b.sec, 0, 0)), ivhdEntry.rangeEnd(devid(b.sub, 31, 7)));
        } else walk(b.sec, b.children);
      } else {
        const a = devid(b.sec, 0, 0);
        entries.push(ivhdEntry.aliasRange(a, b.pcieToPci ? a : devid(bus, n.dev, n.fn)), ivhdEntry.rangeEnd(devid(b.sub, 31, 7)));
      }
    }
  };
  const iommuDevid = opts.iommuDevid ?? devid(0, 5, 0);
  const rootBus = [...(opts.rootBus ?? e2eGuestRootBus())];
  rootBus.push({ dev: (iommuDevid >> 3) & 0x1f, fn: iommuDevid & 7 });
  rootBus.sort((x, y) => x.dev * 8 + x.fn - (y.dev * 8 + y.fn));
  walk(0, rootBus);
  if (opts.intremap !== false) entries.push(ivhdEntry.special(0, devid(0, 0x14, 0), 1));
  const features = Number(((48n << 30n) | (48n << 28n) | 4n | 0x40n) & 0xffff_ffffn);
  return ivrsTable({ ivinfo: 40 << 8, subtables: [ivhd({ type: 0x10, flags: 0xd1, deviceId: iommuDevid, capabilityOffset: 0x40, base: 0xfed80000, attributes: features, entries })], header: { ...QEMU_HEADER, revision: 1 } });
}

// ---- IVRS ---------------------------------------------------------------------------------------

/** IVHD device entries (`struct ivhd_entry`): 4 bytes below type 0x40, 8 bytes for 0x40–0x7f. */
export const ivhdEntry = {
  pad: (): Uint8Array => new Bytes().u8(0).u16(0).u8(0).build(),
  all: (flags = 0): Uint8Array => new Bytes().u8(0x01).u16(0).u8(flags).build(),
  select: (devid: number, flags = 0): Uint8Array => new Bytes().u8(0x02).u16(devid).u8(flags).build(),
  rangeStart: (devid: number, flags = 0): Uint8Array => new Bytes().u8(0x03).u16(devid).u8(flags).build(),
  rangeEnd: (devid: number): Uint8Array => new Bytes().u8(0x04).u16(devid).u8(0).build(),
  aliasSelect: (devid: number, alias: number, flags = 0): Uint8Array => new Bytes().u8(0x42).u16(devid).u8(flags).u8(0).u16(alias).u8(0).build(),
  aliasRange: (devid: number, alias: number, flags = 0): Uint8Array => new Bytes().u8(0x43).u16(devid).u8(flags).u8(0).u16(alias).u8(0).build(),
  extSelect: (devid: number, flags = 0, ext = 0): Uint8Array => new Bytes().u8(0x46).u16(devid).u8(flags).u32(ext).build(),
  extRange: (devid: number, flags = 0, ext = 0): Uint8Array => new Bytes().u8(0x47).u16(devid).u8(flags).u32(ext).build(),
  /** Variety 1 = IOAPIC, 2 = HPET; `devid` is the BDF the IOAPIC/HPET requests come from. */
  special: (handle: number, devid: number, variety: 1 | 2, flags = 0): Uint8Array => new Bytes().u8(0x48).u16(0).u8(flags).u8(handle).u16(devid).u8(variety).build(),
  /** Type 0xF0: 22 bytes + UID (uidFormat 2 = string). */
  acpiHid: (devid: number, hid: string, uid: string, flags = 0): Uint8Array =>
    new Bytes().u8(0xf0).u16(devid).u8(flags).ascii(hid, 8, '\0').u64(0).u8(2).u8(uid.length).ascii(uid, uid.length).build(),
};

export interface IvhdSpec {
  type?: 0x10 | 0x11 | 0x40;
  flags?: number;
  /** The IOMMU's own BDF as a 16-bit device ID (bus << 8 | dev << 3 | fn). */
  deviceId: number;
  capabilityOffset?: number;
  base: bigint | number;
  segment?: number;
  info?: number;
  attributes?: number;
  efr?: bigint;
  efr2?: bigint;
  entries: Uint8Array[];
}

/** IVHD block: 24-byte header (type 0x10) or 40 (0x11/0x40, with EFR images), then device entries. */
export function ivhd(h: IvhdSpec): Uint8Array {
  const type = h.type ?? 0x11;
  const headerSize = type === 0x10 ? 24 : 40;
  const entries = h.entries.reduce((n, e) => n + e.length, 0);
  const b = new Bytes()
    .u8(type)
    .u8(h.flags ?? 0xb0)
    .u16(headerSize + entries)
    .u16(h.deviceId)
    .u16(h.capabilityOffset ?? 0x40)
    .u64(h.base)
    .u16(h.segment ?? 0)
    .u16(h.info ?? 0)
    .u32(h.attributes ?? 0);
  if (headerSize === 40) b.u64(h.efr ?? 0n).u64(h.efr2 ?? 0n);
  for (const e of h.entries) b.raw(e);
  return b.build();
}

/** IVMD block (32 bytes): type 0x20 all, 0x21 one device, 0x22 range. */
export function ivmd(m: { type: 0x20 | 0x21 | 0x22; flags?: number; devid?: number; aux?: number; segment?: number; start: bigint | number; length: bigint | number }): Uint8Array {
  return new Bytes()
    .u8(m.type)
    .u8(m.flags ?? 0x07)
    .u16(32)
    .u16(m.devid ?? 0)
    .u16(m.aux ?? 0)
    .u16(m.segment ?? 0)
    .zeros(6)
    .u64(m.start)
    .u64(m.length)
    .build();
}

/** `struct acpi_table_ivrs`: header, IVinfo, 8 reserved bytes, subtables from offset 48. */
export function ivrsTable(t: { ivinfo?: number; subtables: Uint8Array[]; header?: HeaderSpec }): Uint8Array {
  const body = new Bytes().u32(t.ivinfo ?? 0x00203041).zeros(8);
  for (const s of t.subtables) body.raw(s);
  return acpiTable('IVRS', body.build(), { revision: 2, ...t.header });
}

/** 16-bit device ID of a bus/dev/fn. */
export function devid(bus: number, dev: number, fn: number): number {
  return (bus << 8) | (dev << 3) | fn;
}

// ---- IORT ---------------------------------------------------------------------------------------

export interface IortNodeSpec {
  kind: 'its' | 'rc' | 'smmuv3' | 'smmu' | 'rmr';
  /** its: number of ITS IDs. */
  its?: number;
  /** rc: PCI segment. */
  segment?: number;
  /** smmuv3/smmu: MMIO base; smmuv3 flags (bit 0 COHACC). */
  base?: bigint | number;
  flags?: number;
  /** rmr: memory ranges. */
  ranges?: { base: bigint | number; length: bigint | number }[];
  /** ID mappings; `to` is the index of the target node in the node list. */
  maps?: { inputBase: number; count: number; outputBase: number; to: number }[];
}

/**
 * An IORT (`struct acpi_table_iort`, include/acpi/actbl2.h:653): header, node count, node offset 48,
 * then nodes laid out one after another; ID mappings reference nodes by table offset.
 */
export function iortTable(nodes: IortNodeSpec[], header: HeaderSpec = {}): Uint8Array {
  const dataLen = (n: IortNodeSpec): number => {
    switch (n.kind) {
      case 'its':
        return 4 + 4 * (n.its ?? 1);
      case 'rc':
        return 20;
      case 'smmuv3':
        return 52;
      case 'smmu':
        return 36;
      case 'rmr':
        return 12 + 20 * (n.ranges?.length ?? 0);
    }
  };
  const sizes = nodes.map((n) => 16 + dataLen(n) + 20 * (n.maps?.length ?? 0));
  const offsets: number[] = [];
  let off = 48;
  for (const s of sizes) {
    offsets.push(off);
    off += s;
  }
  const body = new Bytes().u32(nodes.length).u32(48).u32(0);
  nodes.forEach((n, i) => {
    const type = { its: 0, rc: 2, smmu: 3, smmuv3: 4, rmr: 6 }[n.kind];
    const maps = n.maps ?? [];
    body.u8(type).u16(sizes[i]!).u8(n.kind === 'rc' ? 4 : n.kind === 'rmr' ? 3 : n.kind === 'smmuv3' ? 5 : 1).u32(i).u32(maps.length).u32(maps.length ? 16 + dataLen(n) : 0);
    switch (n.kind) {
      case 'its':
        body.u32(n.its ?? 1);
        for (let k = 0; k < (n.its ?? 1); k++) body.u32(k);
        break;
      case 'rc':
        body.u32(1).u8(0).u16(0).u8(0).u32(0).u32(n.segment ?? 0).u8(48).u16(0).u8(0);
        break;
      case 'smmuv3':
        body.u64(n.base ?? 0x9050000).u32(n.flags ?? 1).u32(0).u64(0).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0);
        break;
      case 'smmu':
        body.u64(n.base ?? 0x2b400000).u64(0x10000).u32(0).u32(n.flags ?? 0).u32(0).u32(0).u32(0);
        break;
      case 'rmr':
        body.u32(0).u32(n.ranges?.length ?? 0).u32(n.ranges?.length ? 16 + 12 : 0);
        for (const r of n.ranges ?? []) body.u64(r.base).u64(r.length).u32(0);
        break;
    }
    for (const m of maps) body.u32(m.inputBase).u32(m.count - 1).u32(m.outputBase).u32(offsets[m.to]!).u32(0);
  });
  return acpiTable('IORT', body.build(), { revision: 3, ...header });
}
