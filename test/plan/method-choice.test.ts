import { afterAll, describe, expect, it } from 'vitest';
import { brief, cleanup, endpoint, iommu, planFor, rootPort, type PlanCase } from './helpers.js';

afterAll(cleanup);

const RP1 = '0000:00:01.0';
const RP2 = '0000:00:02.0';

interface Row extends PlanCase {
  name: string;
  steps?: string[];
  unresettable?: string[];
  /** Substrings one of the step or unresettable reasons must hold. */
  reasons?: string[];
  /** Extra checks on the first step. */
  first?: { saveRestore?: string[]; fallbacks?: string[]; waits?: Record<string, number>; delayAfterMs?: number; d3hotDelayMs?: number; underlying?: string };
}

const rows: Row[] = [
  {
    name: 'FLR the kernel offers first: its reset file with its own chain',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1)],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { saveRestore: [], underlying: 'flr', fallbacks: ['kernel:bus', 'flr', 'bus'], waits: { flr: 100 } },
  },
  {
    name: 'FLR without a reset file: raw FLR with config save/restore',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { resetMethod: null })],
    steps: ['flr@01:00.0[01:00.0]'],
    first: { saveRestore: ['0000:01:00.0'] },
    reasons: ['no reset_method file: raw register reset'],
  },
  {
    name: 'Immediate Readiness: no 100 ms after FLR',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { immediateReadiness: true, resetMethod: null })],
    steps: ['flr@01:00.0[01:00.0]'],
    first: { waits: { flr: 0 } },
  },
  {
    name: 'no_flr from the table, kernel lists flr first: select pm in reset_method',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { pm: {} })],
    table: '1234:0001 no_flr reason="test: FLR hangs it"',
    steps: ['kernel:pm@01:00.0[01:00.0]'],
    reasons: ['not flr: forbidden: quirk test.quirks:1'],
    first: { underlying: 'pm', waits: { d3hot: 10, 'd3hot->d0': 10 } },
  },
  {
    name: 'kernel NO_FLR quirk (AMD Matisse HDA 1022:1487): the kernel lists no flr, PM through the kernel',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x1022, device: 0x1487, classCode: 0x040300, pm: {}, flags: { noFlr: true } })],
    steps: ['kernel@01:00.0[01:00.0]'],
    reasons: ['quirk_no_flr', 'pm: PM capability'],
  },
  {
    name: 'conventional function with AF FLR behind a PCIe-to-PCI bridge',
    fns: [
      rootPort(1, 1, { bridge: { secondaryBus: 1, subordinateBus: 2 } }),
      { bdf: '0000:01:00.0', parent: RP1, vendor: 0x1b21, device: 0x1080, classCode: 0x060401, bridge: { secondaryBus: 2, subordinateBus: 2 }, pcie: { type: 'pcie_to_pci_bridge', linkSpeed: 1 }, pm: {} },
      { bdf: '0000:02:01.0', parent: '0000:01:00.0', vendor: 0x8086, device: 0x107c, classCode: 0x020000, pm: { version: 2 }, af: { tp: true, flr: true }, driver: 'e1000' },
    ],
    steps: ['kernel@02:01.0[02:01.0]'],
    first: { underlying: 'af_flr', waits: { af_flr: 100 } },
  },
  {
    name: 'conventional PCI with no function reset: one bus reset of the PCIe-to-PCI bridge for the whole conventional bus, 1000+100 ms',
    fns: [
      rootPort(1, 1, { bridge: { secondaryBus: 1, subordinateBus: 2 } }),
      { bdf: '0000:01:00.0', parent: RP1, vendor: 0x1b21, device: 0x1080, classCode: 0x060401, bridge: { secondaryBus: 2, subordinateBus: 2 }, pcie: { type: 'pcie_to_pci_bridge', linkSpeed: 1 }, pm: {} },
      { bdf: '0000:02:00.0', parent: '0000:01:00.0', vendor: 0x102b, device: 0x0522, classCode: 0x030000 },
      { bdf: '0000:02:01.0', parent: '0000:01:00.0', vendor: 0x8086, device: 0x107c, classCode: 0x020000, pm: { version: 2 }, af: { tp: true, flr: true } },
    ],
    steps: ['bus@01:00.0[02:00.0 02:01.0]'],
    first: { saveRestore: ['0000:02:00.0', '0000:02:01.0'], waits: { 'bus-reset': 2, 'secondary-bus': 1100 } },
    reasons: ['02:01.0 would have used kernel; the bus reset resets it anyway', 'the 6.18 kernel itself waits nothing here'],
  },
  {
    name: 'lone function without FLR or PM: the kernel\'s bus method through its reset file',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { pcie: { type: 'endpoint' } })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'bus', fallbacks: ['bus'], waits: { 'bus-reset': 2, 'secondary-bus': 120 } },
  },
  {
    name: 'multi-function GPU (no FLR, AMD NO_PM_RESET) and its HDA: one bus reset on the parent covers both',
    fns: [
      rootPort(1, 1),
      endpoint('0000:01:00.0', RP1, { vendor: 0x1002, device: 0x67df, classCode: 0x030000, pcie: { type: 'legacy_endpoint' }, pm: {}, driver: undefined, flags: { noPm: true } }),
      endpoint('0000:01:00.1', RP1, { vendor: 0x1002, device: 0xaaf0, classCode: 0x040300, pcie: { type: 'legacy_endpoint' }, pm: {} }),
    ],
    steps: ['bus@00:01.0[01:00.0 01:00.1]'],
    reasons: ['not pm: forbidden: quirk default.quirks', 'the kernel lists bus but would refuse it at reset time'],
  },
  {
    name: 'Atheros Wi-Fi (NO_BUS_RESET) with nothing else: unresettable, citing the kernel quirk',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x168c, device: 0x003e, classCode: 0x028000, pcie: { type: 'endpoint' }, flags: { noBus: true } })],
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['must never be below a bus reset', 'quirk_no_bus_reset'],
  },
  {
    name: 'a function that needs a bus reset next to an Atheros function: the reset would reach it, so unresettable',
    fns: [
      rootPort(1, 1),
      endpoint('0000:01:00.0', RP1, { vendor: 0x168c, device: 0x003e, classCode: 0x028000, pm: {}, flags: { noBus: true } }),
      endpoint('0000:01:00.1', RP1, { pcie: { type: 'endpoint' } }),
    ],
    steps: ['kernel@01:00.0[01:00.0]'],
    unresettable: ['01:00.1'],
    reasons: ['would also reset 0000:01:00.0, which must never be below a bus reset'],
  },
  {
    name: 'NO_BUS_RESET on the bridge (NVIDIA GB10 root port): checked although the 6.18 kernel checks only the target',
    fns: [rootPort(1, 1, { vendor: 0x10de, device: 0x22ce }), endpoint('0000:01:00.0', RP1, { pcie: { type: 'endpoint' } })],
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['bridge 0000:00:01.0 must not reset the bus below it', 'NVIDIA GB10'],
  },
  {
    name: 'switch with mixed quirks: Atheros below one port, a bus-only device below another; ports never reset',
    fns: [
      rootPort(1, 1, { bridge: { secondaryBus: 1, subordinateBus: 4 } }),
      { bdf: '0000:01:00.0', parent: RP1, vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 2, subordinateBus: 4 }, pcie: { type: 'upstream_port' }, pm: {} },
      { bdf: '0000:02:08.0', parent: '0000:01:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 3, subordinateBus: 3 }, pcie: { type: 'downstream_port', dllla: true, flr: true }, pm: {} },
      { bdf: '0000:02:09.0', parent: '0000:01:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 4, subordinateBus: 4 }, pcie: { type: 'downstream_port', dllla: true, flr: true }, pm: {} },
      endpoint('0000:03:00.0', '0000:02:08.0', { vendor: 0x168c, device: 0x0030, classCode: 0x028000, pcie: { type: 'endpoint' }, flags: { noBus: true } }),
      endpoint('0000:04:00.0', '0000:02:09.0', { pcie: { type: 'endpoint' }, resetMethod: null }),
    ],
    steps: ['bus@02:09.0[04:00.0]'],
    unresettable: ['03:00.0'],
  },
  {
    name: 'SR-IOV: the PF\'s FLR takes its VFs with it; the other PF and no VF gets a step of its own',
    fns: [
      rootPort(1, 1),
      endpoint('0000:01:00.0', RP1, { sriov: { totalVfs: 8, numVfs: 2, vfDevice: 0x0002, offset: 0x10, stride: 1 } }),
      endpoint('0000:01:00.1', RP1),
      endpoint('0000:01:02.0', RP1, { physfn: '0000:01:00.0', device: 0x0002, pm: undefined }),
      endpoint('0000:01:02.1', RP1, { physfn: '0000:01:00.0', device: 0x0002, pm: undefined }),
    ],
    steps: ['kernel@01:00.0[01:00.0 01:02.0 01:02.1]', 'kernel@01:00.1[01:00.1]'],
    reasons: ['also resets its VFs'],
  },
  {
    name: 'SR-IOV: a VF excluded by policy forbids the PF\'s FLR; the PF has nothing else safe',
    fns: [
      rootPort(1, 1),
      endpoint('0000:01:00.0', RP1, { sriov: { totalVfs: 8, numVfs: 1, vfDevice: 0x0002, offset: 0x10, stride: 1 } }),
      endpoint('0000:01:02.0', RP1, { physfn: '0000:01:00.0', device: 0x0002, pm: undefined }),
    ],
    policy: { exclude: ['01:02.0'] },
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['an FLR of this PF would also reset its VF 0000:01:02.0'],
  },
  {
    name: 'prefer=bus in the table beats an available FLR',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1)],
    table: '1234:0001 prefer=bus reason="test: FLR leaves it wedged"',
    steps: ['kernel:bus@01:00.0[01:00.0]'],
    reasons: ['bus first, as quirk test.quirks:1'],
  },
  {
    name: 'prefer=kernel trusts the kernel\'s listing when config space hides the capability (QAT VF style)',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { pcie: undefined, pm: undefined, resetMethod: ['flr'] })],
    table: '1234:0001 prefer=kernel reason="test: PCIe capability hidden from the list"',
    steps: ['kernel@01:00.0[01:00.0]'],
    reasons: ['the table prefers the kernel\'s reset'],
  },
  {
    name: 'the kernel\'s device_specific reset comes first when the kernel lists it',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { resetMethod: ['device_specific', 'flr', 'bus'] })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'device_specific', fallbacks: ['kernel:flr', 'kernel:bus', 'flr', 'bus'] },
  },
  {
    name: 'prefer=vfio: VFIO_DEVICE_RESET when the kernel chain is safe',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { driver: 'vfio-pci' })],
    table: '1234:0001 prefer=vfio reason="test: owned by a VM"',
    steps: ['vfio@01:00.0[01:00.0]'],
  },
  {
    name: 'skip: never reset, reported unresettable, and no bus reset may reach it',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1), endpoint('0000:01:00.1', RP1, { device: 0x0005, pcie: { type: 'endpoint' } })],
    table: '1234:0001 skip reason="test: firmware dies on any reset"',
    steps: [],
    unresettable: ['01:00.0', '01:00.1'],
    reasons: ['the table says to leave it alone', 'which the table says to skip'],
  },
  {
    name: 'no_dma: out of scope, and a bus reset may still cover it',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { classCode: 0x0c0500, pcie: { type: 'endpoint' } }), endpoint('0000:01:00.1', RP1, { pcie: { type: 'endpoint' } })],
    steps: ['bus@00:01.0[01:00.0 01:00.1]'],
  },
  {
    name: 'a bridge is never reset as a function, even when --only names it',
    fns: [rootPort(1, 1, { pcie: { type: 'root_port', flr: true, dllla: true } }), endpoint('0000:01:00.0', RP1)],
    policy: { only: ['00:01.0'] },
    steps: [],
    unresettable: [],
  },
  {
    name: '--only the GPU: its HDA is out of scope, so the bus reset the GPU needs is not allowed',
    fns: [
      rootPort(1, 1),
      endpoint('0000:01:00.0', RP1, { vendor: 0x1002, device: 0x67df, classCode: 0x030000, pcie: { type: 'legacy_endpoint' }, pm: {}, flags: { noPm: true } }),
      endpoint('0000:01:00.1', RP1, { vendor: 0x1002, device: 0xaaf0, classCode: 0x040300, pcie: { type: 'legacy_endpoint' }, pm: {} }),
    ],
    policy: { only: ['1002:67df'] },
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['which is out of scope (not selected by --only 1002:67df)'],
  },
  {
    name: '--exclude by class and by vendor:device',
    fns: [rootPort(1, 1), rootPort(2, 2), endpoint('0000:01:00.0', RP1, { classCode: 0x010802 }), endpoint('0000:02:00.0', RP2, { vendor: 0x15b3, device: 0x1017 })],
    policy: { exclude: ['class=0108', '15b3:*'] },
    steps: [],
  },
  {
    name: '--exclude a bridge protects everything below it from bus resets',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { pcie: { type: 'endpoint' } })],
    policy: { exclude: ['00:01.0'] },
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['excluded by --exclude 00:01.0'],
  },
  {
    name: 'IOMMU case 1: nothing is reset',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1)],
    iommu: iommu('1'),
    steps: [],
  },
  {
    name: 'IOMMU case 1 with --all: reset anyway',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1)],
    iommu: iommu('1'),
    policy: { all: true },
    steps: ['kernel@01:00.0[01:00.0]'],
    reasons: ['reset because --all was given'],
  },
  {
    name: 'capture kernel, a function no IOMMU unit translates (its case 1) is left alone',
    fns: [rootPort(1, 1), rootPort(2, 2), endpoint('0000:01:00.0', RP1), endpoint('0000:02:00.0', RP2)],
    iommu: iommu('4', {}, { '0000:02:00.0': '1' }),
    steps: ['kernel@01:00.0[01:00.0]'],
  },
  {
    name: 'faulting device first',
    fns: [rootPort(1, 1), rootPort(2, 2), endpoint('0000:01:00.0', RP1), endpoint('0000:02:00.0', RP2)],
    iommu: iommu('2', { '0000:02:00.0': 7 }),
    steps: ['kernel@02:00.0[02:00.0]', 'kernel@01:00.0[01:00.0]'],
    reasons: ['7 DMA faults logged against it: reset first', 'IOMMU case 2'],
  },
  {
    name: 'NVIDIA HDA: PM reset waits the 20 ms D3hot delay of quirk_nvidia_hda_pm',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x10de, device: 0x10f0, classCode: 0x040300, pcie: { type: 'endpoint' }, pm: {}, resetMethod: null })],
    steps: ['pm@01:00.0[01:00.0]'],
    first: { d3hotDelayMs: 20, waits: { d3hot: 20, 'd3hot->d0': 20 } },
  },
  {
    name: 'an old Intel chipset port on the machine slows every PM reset to 120 ms (pci_pm_d3hot_delay)',
    fns: [rootPort(1, 1, { device: 0x25e2 }), endpoint('0000:01:00.0', RP1, { pcie: { type: 'endpoint' }, pm: {}, resetMethod: null })],
    steps: ['pm@01:00.0[01:00.0]'],
    first: { d3hotDelayMs: 120 },
    reasons: ['raised to 120 ms machine-wide by 0000:00:01.0'],
  },
  {
    name: 'Intel P3700-class NVMe: 250 ms after the reset',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x8086, device: 0x0a54, classCode: 0x010802 })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { delayAfterMs: 250, waits: { flr: 100, 'quirk-delay': 250 } },
  },
  {
    name: 'VideoPropulsion d3cold 1000 ms lengthens the bus reset wait',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x5555, device: 0x0004, pcie: { type: 'endpoint' }, resetMethod: null })],
    steps: ['bus@00:01.0[01:00.0]'],
    first: { waits: { 'bus-reset': 2, 'secondary-bus': 1020 } },
  },
  {
    name: 'config space read only to 64 bytes (not root): the kernel\'s listing is trusted, never a raw reset on a guess',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { configSize: 64 })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { fallbacks: ['kernel:bus'] },
    reasons: ['config space read only to 64 bytes, so its capability bits are unknown (read as root)'],
  },
  {
    name: 'config space cut and no reset file: no function-level reset, the bus reset of its bridge',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { configSize: 64, resetMethod: null })],
    steps: ['bus@00:01.0[01:00.0]'],
    reasons: ['config space read only to 64 bytes, so its capability bits are unknown (read as root), and the kernel does not list flr'],
  },
  {
    name: 'Samsung SM961 (144d:a804): no raw FLR of an enabled controller; the kernel\'s device_specific when listed',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x144d, device: 0xa804, classCode: 0x010802, resetMethod: ['device_specific', 'flr', 'bus'] })],
    steps: ['kernel:device_specific@01:00.0[01:00.0]'],
  },
];

describe('method choice and conflict rules', () => {
  for (const row of rows) {
    it(row.name, () => {
      const { plan } = planFor(row);
      const b = brief(plan);
      if (row.steps) expect(b.steps).toEqual(row.steps);
      if (row.unresettable) expect(b.unresettable).toEqual(row.unresettable);
      const text = [...plan.steps.flatMap((s) => s.reasons), ...plan.unresettable.map((u) => u.reason)].join('\n');
      for (const r of row.reasons ?? []) expect(text).toContain(r);
      if (row.first) {
        const s = plan.steps[0]!;
        const f = row.first;
        if (f.saveRestore) expect(s.saveRestore).toEqual(f.saveRestore);
        if (f.fallbacks) expect(s.fallbacks).toEqual(f.fallbacks);
        if (f.delayAfterMs !== undefined) expect(s.delayAfterMs).toBe(f.delayAfterMs);
        if (f.d3hotDelayMs !== undefined) expect(s.d3hotDelayMs).toBe(f.d3hotDelayMs);
        if (f.underlying) expect(s.underlying).toBe(f.underlying);
        if (f.waits) expect(Object.fromEntries(s.waits.map((w) => [w.what, w.ms]))).toEqual(f.waits);
      }
      // Every function exactly once, whatever the case.
      const seen = [...plan.steps.flatMap((s) => s.functions), ...plan.unresettable.map((e) => e.bdf), ...plan.excluded.map((e) => e.bdf)];
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBe(row.fns.length);
    });
  }
});
