import type { MockFunction } from '../../src/mock/tree-builder.js';
import { MockTree } from '../../src/mock/tree-builder.js';

const set = (b: Uint8Array, o: number, w: number, v: number): void => {
  for (let i = 0; i < w; i++) b[o + i] = (v >>> (8 * i)) & 0xff;
};

/**
 * Registers an old kernel's driver would have programmed, at the mock tree's standard layout, so that a
 * reset visibly clears them and a missed restore shows: cache line, interrupt line, DevCtl, LnkCtl,
 * DevCtl2, MSI (enabled, address, data, mask), MSI-X enable, AER masks, ACS control, LTR latencies.
 */
export function programme(b: Uint8Array): void {
  set(b, 0x0c, 2, 0x0010); // cache line 64 bytes
  set(b, 0x3c, 1, 0x0b); // interrupt line
  if (b.length < 0x100) return;
  if (b[0x50] === 0x05) {
    set(b, 0x52, 2, 0x01a1); // MSI enabled, 4 vectors, 64-bit, per-vector mask
    set(b, 0x54, 4, 0xfee00000);
    set(b, 0x58, 4, 0x00000000);
    set(b, 0x5c, 2, 0x4021);
    set(b, 0x60, 4, 0x0000000e);
  }
  if (b[0x70] === 0x10) {
    set(b, 0x78, 2, 0x593f); // DevCtl: error reporting on, MPS 256, MRRS 4096, ext tags
    if (b.length > 0x80) set(b, 0x80, 2, 0x0043); // LnkCtl: ASPM L0s+L1, common clock
    set(b, 0x98, 2, 0x0416); // DevCtl2: LTR enable, completion timeout
  }
  if (b[0xb0] === 0x11) set(b, 0xb2, 2, 0x803f); // MSI-X enabled
  if (b.length >= 0x1000) {
    if ((b[0x100]! | (b[0x101]! << 8)) === 0x0001) {
      set(b, 0x108, 4, 0x00400000); // AER uncorrectable mask
      set(b, 0x10c, 4, 0x00462031); // AER severity
      set(b, 0x114, 4, 0x0000e000); // AER correctable mask
      set(b, 0x118, 4, 0x00000140); // ECRC generation/check enable
    }
    if ((b[0x148]! | (b[0x149]! << 8)) === 0x000d) set(b, 0x14e, 2, 0x001d); // ACS control
    if ((b[0x158]! | (b[0x159]! << 8)) === 0x0018) set(b, 0x15c, 4, 0x10031003); // LTR max latencies
  }
}

/** An endpoint with every capability the executor saves, programmed as a driver would leave it. */
export function endpoint(bdf: string, parent: string | undefined, extra: Partial<MockFunction> = {}): MockFunction {
  return {
    bdf,
    ...(parent ? { parent } : {}),
    vendor: 0x8086,
    device: 0x10fb,
    classCode: 0x020000,
    pcie: { type: parent ? 'endpoint' : 'rc_integrated_endpoint', flr: true, linkSpeed: 3 },
    pm: { version: 3 },
    msi: true,
    msix: true,
    aer: true,
    acs: true,
    ltr: true,
    driver: 'ixgbe',
    iommuGroup: parseInt(bdf.slice(5, 7), 16) * 8 + parseInt(bdf.slice(8, 10), 16),
    patchConfig: programme,
    ...extra,
  };
}

export function rootPort(bdf: string, secondary: number, subordinate: number, extra: Partial<MockFunction['pcie']> = {}, more: Partial<MockFunction> = {}): MockFunction {
  return {
    bdf,
    vendor: 0x8086,
    device: 0x2030,
    classCode: 0x060400,
    bridge: { secondaryBus: secondary, subordinateBus: subordinate },
    pcie: { type: 'root_port', linkSpeed: 3, dllla: true, crsVisibility: true, ...extra },
    pm: { version: 3 },
    msi: true,
    aer: true,
    acs: true,
    driver: 'pcieport',
    ...more,
  };
}

/**
 * A small machine: two root ports with one programmed endpoint each, a third with a switch (upstream
 * port, two downstream ports, an endpoint below each) for nested bus resets, an RCiEP on the root bus,
 * and a proc/vmcore so it is a capture kernel.
 */
export function smallTree(extra: (t: MockTree) => void = () => {}): MockTree {
  const t = new MockTree()
    .add(rootPort('0000:00:01.0', 1, 1))
    .add(endpoint('0000:01:00.0', '0000:00:01.0'))
    .add(rootPort('0000:00:02.0', 2, 2, { linkSpeed: 2, dllla: true, crsVisibility: false }))
    .add(endpoint('0000:02:00.0', '0000:00:02.0'))
    .add(rootPort('0000:00:03.0', 3, 6))
    .add({ bdf: '0000:03:00.0', parent: '0000:00:03.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 4, subordinateBus: 6 }, pcie: { type: 'upstream_port', linkSpeed: 3 }, pm: {}, aer: true, driver: 'pcieport' })
    .add({ bdf: '0000:04:08.0', parent: '0000:03:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 5, subordinateBus: 5 }, pcie: { type: 'downstream_port', linkSpeed: 3, dllla: true }, pm: {}, aer: true, acs: true, driver: 'pcieport', patchConfig: programme })
    .add({ bdf: '0000:04:09.0', parent: '0000:03:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 6, subordinateBus: 6 }, pcie: { type: 'downstream_port', linkSpeed: 3, dllla: true }, pm: {}, aer: true, acs: true, driver: 'pcieport' })
    .add(endpoint('0000:05:00.0', '0000:04:08.0'))
    .add(endpoint('0000:06:00.0', '0000:04:09.0', { pcie: { type: 'endpoint', flr: false, linkSpeed: 3 } }))
    .add(endpoint('0000:00:1f.0', undefined))
    .file('proc/vmcore', '')
    .file('proc/cmdline', 'BOOT_IMAGE=/vmlinuz ro elfcorehdr=1654132K reset_devices\n');
  extra(t);
  return t;
}
