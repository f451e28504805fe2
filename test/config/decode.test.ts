import { describe, expect, it } from 'vitest';
import { decodeConfig } from '../../src/config/decode.js';
import { buildConfig, LAYOUT, type ConfigSpec } from '../../src/mock/config-builder.js';

const nic: ConfigSpec = {
  bdf: '0000:03:00.0',
  vendor: 0x8086,
  device: 0x10fb,
  classCode: 0x020000,
  revision: 0x01,
  subsystemVendor: 0x8086,
  subsystemDevice: 0x000c,
  pcie: { type: 'endpoint', flr: true, linkSpeed: 2 },
  pm: { version: 3 },
  msi: true,
  msix: true,
  aer: true,
  sriov: { totalVfs: 8, numVfs: 0, vfDevice: 0x10ed, offset: 0x80, stride: 2 },
};

function bytes(spec: ConfigSpec, patch?: (b: Uint8Array) => void): Uint8Array {
  const b = buildConfig(spec);
  patch?.(b);
  return b;
}

describe('header', () => {
  it('decodes IDs, class, revision, subsystem and header type', () => {
    const d = decodeConfig(bytes(nic));
    expect(d.header).toMatchObject({
      vendor: 0x8086,
      device: 0x10fb,
      classCode: 0x020000,
      revision: 1,
      subsystemVendor: 0x8086,
      subsystemDevice: 0x000c,
      headerType: 0,
      multiFunction: false,
    });
    expect(d.problems).toEqual([]);
  });

  it('reads the multi-function bit apart from the type', () => {
    const d = decodeConfig(bytes({ ...nic, multiFunction: true }));
    expect(d.header?.headerType).toBe(0);
    expect(d.header?.multiFunction).toBe(true);
  });

  it('type 1: bus numbers and Bridge Control; no subsystem fields', () => {
    const d = decodeConfig(
      bytes({ bdf: '0000:00:01.0', vendor: 0x8086, device: 0x2030, classCode: 0x060400, bridge: { secondaryBus: 5, subordinateBus: 9, bridgeControl: 0x0052 }, pcie: { type: 'root_port' } }),
    );
    expect(d.header?.headerType).toBe(1);
    expect(d.header?.subsystemVendor).toBeNull();
    expect(d.bridge).toEqual({ primaryBus: 0, secondaryBus: 5, subordinateBus: 9, bridgeControl: 0x0052, secondaryBusResetAsserted: true });
  });

  it('type 2 (CardBus): capability pointer at 0x14, bus numbers at 0x18..0x1a', () => {
    const b = new Uint8Array(256);
    b.set([0x80, 0x10, 0x76, 0x04], 0);
    b[0x06] = 0x10; // capability list
    b[0x0a] = 0x07; // class 0607
    b[0x0b] = 0x06;
    b[0x0e] = 0x02;
    b[0x14] = 0x80;
    b[0x18] = 2;
    b[0x19] = 3;
    b[0x1a] = 4;
    b[0x80] = 0x01; // PM
    b[0x82] = 0x02;
    const d = decodeConfig(b);
    expect(d.header?.headerType).toBe(2);
    expect(d.capabilities).toEqual([{ id: 1, offset: 0x80 }]);
    expect(d.bridge?.secondaryBus).toBe(3);
    expect(d.bridge?.subordinateBus).toBe(4);
  });

  it('all 0xFF is a named problem, not an exception', () => {
    const d = decodeConfig(new Uint8Array(4096).fill(0xff));
    expect(d.header).toBeNull();
    expect(d.problems).toContain('config reads all 0xFF (function not responding)');
  });

  it('a VF reads 0xFFFF IDs but keeps its class and capabilities', () => {
    const d = decodeConfig(bytes({ ...nic, isVf: true, sriov: undefined }));
    expect(d.header?.vendor).toBe(0xffff);
    expect(d.header?.classCode).toBe(0x020000);
    expect(d.pcie?.flr).toBe(true);
  });

  it('empty and sub-header configs', () => {
    expect(decodeConfig(new Uint8Array(0)).problems).toEqual(['config space is empty']);
    const short = decodeConfig(bytes(nic).subarray(0, 8));
    expect(short.header).toBeNull();
    expect(short.problems[0]).toMatch(/truncated to 8 bytes/);
  });
});

describe('capability walk follows the kernel', () => {
  it('walks the chain in order', () => {
    const d = decodeConfig(bytes(nic));
    expect(d.capabilities).toEqual([
      { id: 0x01, offset: LAYOUT.pm },
      { id: 0x05, offset: LAYOUT.msi },
      { id: 0x10, offset: LAYOUT.pcie },
      { id: 0x11, offset: LAYOUT.msix },
    ]);
    expect(d.extendedCapabilities.map((c) => [c.id, c.offset])).toEqual([
      [0x01, LAYOUT.aer],
      [0x10, LAYOUT.sriov],
    ]);
  });

  it('no Capabilities List bit in Status: no walk', () => {
    const d = decodeConfig(bytes(nic, (b) => (b[0x06] = 0)));
    expect(d.capabilities).toEqual([]);
    expect(d.pcie).toBeNull();
  });

  it('masks the low two bits of a pointer (after the < 0x40 check)', () => {
    const d = decodeConfig(bytes(nic, (b) => (b[0x34] = LAYOUT.pm | 3)));
    expect(d.capabilities[0]).toEqual({ id: 1, offset: LAYOUT.pm });
  });

  it('a pointer into the header stops the walk with a problem (lspci would follow it)', () => {
    const d = decodeConfig(bytes(nic, (b) => (b[LAYOUT.msi + 1] = 0x10)));
    expect(d.capabilities.map((c) => c.offset)).toEqual([LAYOUT.pm, LAYOUT.msi]);
    expect(d.problems).toContain('capability pointer 0x10 points into the header');
  });

  it('a loop stops with a named problem', () => {
    const d = decodeConfig(bytes(nic, (b) => (b[LAYOUT.pcie + 1] = LAYOUT.pm)));
    expect(d.capabilities.length).toBe(3);
    expect(d.problems).toContain('capability loop at 0x40');
  });

  it('an ID of 0xFF ends the walk', () => {
    const d = decodeConfig(bytes(nic, (b) => (b[LAYOUT.msi] = 0xff)));
    expect(d.capabilities.map((c) => c.id)).toEqual([1]);
  });

  it('walks all 48 possible slots (0x40..0xfc); a pointer back after all 48 is cut at the TTL', () => {
    const b = new Uint8Array(256);
    b.set([0x86, 0x80, 0x00, 0x01], 0);
    b[0x06] = 0x10;
    b[0x34] = 0x40;
    for (let off = 0x40; off < 0x100; off += 4) {
      b[off] = 0x09; // vendor-specific
      b[off + 1] = off + 4 < 0x100 ? off + 4 : 0;
    }
    const d = decodeConfig(b);
    expect(d.capabilities.length).toBe(48);
    expect(d.problems).toEqual([]);
    b[0xfd] = 0x40;
    expect(decodeConfig(b).problems).toContain('capability chain longer than 48 entries');
  });

  it('extended: loop, pointer below 0x100, and header 0 mean what the kernel says', () => {
    const loop = decodeConfig(bytes(nic, (b) => (b[LAYOUT.sriov + 3] = (LAYOUT.aer >> 4) & 0xff)));
    expect(loop.problems).toContain('extended capability loop at 0x100');
    const below = decodeConfig(bytes(nic, (b) => (b[LAYOUT.aer + 3] = 0x08))); // next = 0x080
    expect(below.extendedCapabilities.length).toBe(1);
    expect(below.problems[0]).toMatch(/extended capability pointer 0x80 points below 0x100/);
    const none = decodeConfig(bytes(nic, (b) => b.fill(0, 0x100, 0x104)));
    expect(none.extendedCapabilities).toEqual([]);
  });

  it('extended chain bounded at 480 hops', () => {
    const b = bytes({ ...nic, aer: false, sriov: undefined });
    // 0x100 -> 0x104 -> ... each 4 bytes: 960 entries possible, the walk stops at 480.
    for (let off = 0x100; off < 0x1000; off += 4) {
      const next = off + 4 < 0x1000 ? off + 4 : 0;
      const v = (0x000b | (1 << 16) | (next << 20)) >>> 0;
      b[off] = v & 0xff;
      b[off + 1] = (v >> 8) & 0xff;
      b[off + 2] = (v >> 16) & 0xff;
      b[off + 3] = (v >>> 24) & 0xff;
    }
    const d = decodeConfig(b);
    expect(d.extendedCapabilities.length).toBe(480);
    expect(d.problems).toContain('extended capability chain longer than 480 entries');
  });
});

describe('truncated config', () => {
  it('64 bytes (an unprivileged read): header only, named problem', () => {
    const d = decodeConfig(bytes(nic).subarray(0, 64));
    expect(d.header?.vendor).toBe(0x8086);
    expect(d.problems).toContain('config truncated to 64 bytes');
    expect(d.problems).toContain('capability at 0x40 lies beyond the 64 readable bytes');
    expect(d.pcie).toBeNull();
  });

  it('256 bytes of a PCIe function: no extended walk, named problem', () => {
    const d = decodeConfig(bytes(nic).subarray(0, 256));
    expect(d.pcie?.flr).toBe(true);
    expect(d.extendedCapabilities).toEqual([]);
    expect(d.problems).toContain('config truncated to 256 bytes (PCI Express function: extended capabilities unreadable)');
  });

  it('a capability cut in the middle', () => {
    const d = decodeConfig(bytes(nic).subarray(0, LAYOUT.pcie + 6));
    expect(d.pcie).toBeNull();
    expect(d.problems.some((p) => p.includes('PCI Express capability at 0x70 is cut off'))).toBe(true);
  });

  it('every length from 0 to 4096 decodes without throwing', () => {
    const full = bytes(nic);
    for (let n = 0; n <= 4096; n++) expect(() => decodeConfig(full.subarray(0, n))).not.toThrow();
  });
});

describe('PCI Express, PM and AF fields', () => {
  it('PCIe: type, FLR bit 28, Transactions Pending, DLL Link Active reporting, CRS visibility', () => {
    const rp = decodeConfig(
      bytes({ bdf: '0000:00:1c.0', vendor: 0x8086, device: 0xa190, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port', dllla: true, crsVisibility: true, linkSpeed: 4 } }),
    );
    expect(rp.pcie).toMatchObject({ type: 'root_port', flr: false, dllLinkActiveReporting: true, dllLinkActive: true, maxLinkSpeed: 4, crsVisibilityCapable: true, crsVisibilityEnabled: true });
    const ep = decodeConfig(bytes({ ...nic, pcie: { type: 'endpoint', flr: true, transactionsPending: true } }));
    expect(ep.pcie).toMatchObject({ type: 'endpoint', flr: true, transactionsPending: true, crsVisibilityEnabled: null });
    expect(ep.pcie!.devCap & 0x10000000).toBeTruthy();
  });

  it('every device/port type code maps to its contract name', () => {
    const types = ['endpoint', 'legacy_endpoint', 'root_port', 'upstream_port', 'downstream_port', 'pcie_to_pci_bridge', 'pci_to_pcie_bridge', 'rc_integrated_endpoint', 'rc_event_collector'] as const;
    for (const type of types) expect(decodeConfig(bytes({ ...nic, pcie: { type } })).pcie?.type).toBe(type);
    const unknown = decodeConfig(bytes(nic, (b) => (b[LAYOUT.pcie + 2] = 0x32)));
    expect(unknown.pcie?.type).toBeNull();
    expect(unknown.problems).toContain('unknown PCI Express device/port type 3');
  });

  it('PM: version, No_Soft_Reset; versions above 3 are ignored as the kernel does', () => {
    expect(decodeConfig(bytes({ ...nic, pm: { version: 3, noSoftReset: true } })).pm).toMatchObject({ version: 3, noSoftReset: true });
    const v4 = decodeConfig(bytes({ ...nic, pm: { version: 4 } }));
    expect(v4.pm).toBeNull();
    expect(v4.problems[0]).toMatch(/unsupported PM capability version 4/);
  });

  it('AF: TP and FLR bits', () => {
    const d = decodeConfig(bytes({ bdf: '0000:00:02.0', vendor: 0x8086, device: 0x9a49, classCode: 0x030000, af: { tp: true, flr: false } }));
    expect(d.af).toMatchObject({ tp: true, flr: false, offset: LAYOUT.af });
  });

  it('Immediate Readiness is Status bit 0', () => {
    expect(decodeConfig(bytes({ ...nic, immediateReadiness: true })).header?.immediateReadiness).toBe(true);
    expect(decodeConfig(bytes(nic)).header?.immediateReadiness).toBe(false);
  });
});

describe('hot-plug slots and CXL ports (what a raw bus reset must respect)', () => {
  const port: ConfigSpec = { bdf: '0000:00:07.0', vendor: 0x8086, device: 0x9a23, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 0x2b } };
  it('SltCap Hot-Plug Capable, only on a port with a slot', () => {
    expect(decodeConfig(bytes({ ...port, pcie: { type: 'root_port', hotPlug: true } })).pcie?.hotPlugCapable).toBe(true);
    expect(decodeConfig(bytes({ ...port, pcie: { type: 'root_port' } })).pcie?.hotPlugCapable).toBe(false);
    expect(decodeConfig(bytes({ ...port, pcie: { type: 'root_port', slot: false, hotPlug: true } })).pcie?.hotPlugCapable).toBe(false);
  });

  it('a CXL Port DVSEC (vendor 0x1E98, ID 3) is found; another vendor DVSEC is not', () => {
    const cxl = decodeConfig(bytes({ ...port, pcie: { type: 'root_port' }, cxlPort: { unmaskSbr: false } }));
    expect(cxl.cxlPortDvsec).toBe(LAYOUT.dvsec);
    const other = decodeConfig(bytes({ ...port, pcie: { type: 'root_port' }, cxlPort: { unmaskSbr: false } }, (b) => (b[LAYOUT.dvsec + 4] = 0x86)));
    expect(other.cxlPortDvsec).toBeNull();
  });
});
