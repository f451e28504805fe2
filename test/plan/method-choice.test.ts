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
  first?: { saveRestore?: string[]; fallbacks?: string[]; waits?: Record<string, number>; delayAfterMs?: number; d3hotDelayMs?: number; underlying?: string; assumeFlr?: boolean };
}

const rows: Row[] = [
  {
    name: 'FLR the kernel offers first: its reset file with its own chain',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1)],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { saveRestore: [], underlying: 'flr', fallbacks: ['kernel:bus', 'flr', 'bus'], waits: { flr: 100 } },
  },
  {
    name: 'assume=flr (82599 SFP VF, DevCap FLR-): raw FLR, and the step says assumeFlr for the executor',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x8086, device: 0x10ed, pcie: { type: 'endpoint', flr: false }, resetMethod: null, driver: undefined })],
    steps: ['flr@01:00.0[01:00.0]'],
    reasons: ['flr: DevCap FLR- but it does FLR'],
    first: { assumeFlr: true },
  },
  {
    name: 'assume=flr with FLR only as a fallback after the kernel\'s device_specific: assumeFlr set for the fallback',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { vendor: 0x8086, device: 0x10ed, pcie: { type: 'endpoint', flr: false }, resetMethod: ['device_specific'], driver: undefined })],
    steps: ['kernel:device_specific@01:00.0[01:00.0]'],
    first: { assumeFlr: true },
  },
  {
    name: 'DevCap FLR+ needs no assumption: no assumeFlr',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { resetMethod: null, driver: undefined })],
    steps: ['flr@01:00.0[01:00.0]'],
    first: { assumeFlr: false },
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
    // Not `kernel`: its chain ends in bus, which below a PCIe-to-PCI bridge restores inside Trhfa (issue 12 item 1).
    steps: ['kernel:af_flr@02:01.0[02:01.0]'],
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
    name: 'IOMMU case mixed (units disagree): each function planned by its own unit\'s case, one left alone in case 1, one reset in case 4',
    fns: [rootPort(1, 1), rootPort(2, 2), rootPort(3, 3), endpoint('0000:01:00.0', RP1), endpoint('0000:02:00.0', RP2), endpoint('0000:03:00.0', '0000:00:03.0')],
    iommu: iommu('mixed', {}, { '0000:01:00.0': '4', '0000:02:00.0': '1', '0000:03:00.0': '3b' }),
    steps: ['kernel@03:00.0[03:00.0]', 'kernel@01:00.0[01:00.0]'],
    reasons: ['IOMMU case 3b', 'IOMMU case 4'],
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

/** A root port whose slot pciehp manages (SltCap Hot-Plug Capable). */
const hotPlugPort = (dev: number, bus: number): ReturnType<typeof rootPort> =>
  rootPort(dev, bus, { pcie: { type: 'root_port', linkSpeed: 3, dllla: true, crsVisibility: true, hotPlug: true } });
/** A root port with a CXL Port DVSEC. */
const cxlPort = (dev: number, bus: number, unmaskSbr = false): ReturnType<typeof rootPort> => rootPort(dev, bus, { cxlPort: { unmaskSbr } });
/** An endpoint that needs its bus reset: no FLR, PM without soft reset. */
const busOnly = (bdf: string, parent: string, extra: Parameters<typeof endpoint>[2] = {}): ReturnType<typeof endpoint> =>
  endpoint(bdf, parent, { pcie: { type: 'endpoint' }, ...extra });
const vf = (bdf: string, extra: Parameters<typeof endpoint>[2] = {}): ReturnType<typeof endpoint> =>
  endpoint(bdf, RP1, { physfn: '0000:01:00.0', device: 0x0002, pm: undefined, ...extra });
const SRIOV = { totalVfs: 8, numVfs: 2, vfDevice: 0x0002, offset: 0x10, stride: 1 };

/** What a capture kernel can break: hot-plug and CXL ports, bound drivers, the kernel's own listing, PF resets. */
const kdumpRows: Row[] = [
  // Hot-plug ports: pciehp takes a raw secondary bus reset for a surprise removal (oops in a capture kernel).
  {
    name: 'hot-plug port, lone function the kernel lists bus for: the kernel\'s bus (pciehp reset_slot), no raw bus fallback',
    fns: [hotPlugPort(1, 1), busOnly('0000:01:00.0', RP1)],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'bus', fallbacks: [], saveRestore: [] },
    reasons: ['0000:00:01.0 is a hot-plug port: the kernel resets the slot through pciehp\'s reset_slot'],
  },
  {
    name: 'hot-plug port, lone function with FLR: the kernel\'s chain, fallbacks without a raw bus',
    fns: [hotPlugPort(1, 1), endpoint('0000:01:00.0', RP1)],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'flr', fallbacks: ['kernel:bus', 'flr'] },
  },
  {
    name: 'hot-plug port, lone function without a reset file: unresettable, never a raw bus reset',
    fns: [hotPlugPort(1, 1), busOnly('0000:01:00.0', RP1, { resetMethod: null })],
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['0000:00:01.0 is a hot-plug port (SltCap Hot-Plug Capable)', 'dmar_remove_one_dev_info', 'the kernel\'s bus through 0000:01:00.0\'s reset file is not available: it has no reset file'],
  },
  {
    name: 'hot-plug port, two functions that need a bus reset: both unresettable (no kernel path resets a shared bus)',
    fns: [hotPlugPort(1, 1), busOnly('0000:01:00.0', RP1), busOnly('0000:01:00.1', RP1)],
    steps: [],
    unresettable: ['01:00.0', '01:00.1'],
    reasons: ['pciehp takes it for a surprise removal'],
  },
  {
    name: 'a hot-plug downstream port inside the radius forbids the raw bus reset of the port above (switch management endpoint)',
    fns: [
      rootPort(1, 1, { bridge: { secondaryBus: 1, subordinateBus: 3 } }),
      { bdf: '0000:01:00.0', parent: RP1, vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 2, subordinateBus: 3 }, pcie: { type: 'upstream_port' }, pm: {}, driver: 'pcieport' },
      busOnly('0000:01:00.1', RP1, { vendor: 0x10b5, device: 0x87d0, classCode: 0x088000 }),
      { bdf: '0000:02:08.0', parent: '0000:01:00.0', vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: 3, subordinateBus: 3 }, pcie: { type: 'downstream_port', dllla: true, hotPlug: true }, pm: {}, driver: 'pcieport' },
      endpoint('0000:03:00.0', '0000:02:08.0'),
    ],
    steps: ['kernel@03:00.0[03:00.0]'],
    unresettable: ['01:00.1'],
    reasons: ['a raw secondary bus reset of 0000:00:01.0 would also reset hot-plug port 0000:02:08.0'],
  },
  // CXL ports: Bridge Control SBR is ignored while the port masks it; cxl_bus unmasks it.
  {
    name: 'CXL port, lone function the kernel lists cxl_bus for: kernel:cxl_bus with the bus waits',
    fns: [cxlPort(1, 1), busOnly('0000:01:00.0', RP1, { resetMethod: ['bus', 'cxl_bus'] })],
    steps: ['kernel:cxl_bus@01:00.0[01:00.0]'],
    first: { underlying: 'cxl_bus', fallbacks: [], waits: { 'bus-reset': 2, 'secondary-bus': 120 } },
    reasons: ['cxl_bus unmasks SBR in its CXL Port DVSEC'],
  },
  {
    name: 'CXL port, kernel without cxl_bus: unresettable, neither its bus (does nothing while masked) nor a raw one',
    fns: [cxlPort(1, 1), busOnly('0000:01:00.0', RP1, { resetMethod: ['bus'] })],
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['is a CXL port (CXL Port DVSEC at 0x', 'silently ignores a Bridge Control secondary bus reset', 'the kernel does not list cxl_bus'],
  },
  {
    name: 'CXL port with SBR unmasked now: still no raw bus reset (the bit can change; only the kernel knows to set it)',
    fns: [cxlPort(1, 1, true), busOnly('0000:01:00.0', RP1), busOnly('0000:01:00.1', RP1)],
    steps: [],
    unresettable: ['01:00.0', '01:00.1'],
  },
  {
    name: 'CXL port, FLR with cxl_bus listed: the kernel\'s whole chain, cxl_bus as the kernel fallback, no raw bus',
    fns: [cxlPort(1, 1), endpoint('0000:01:00.0', RP1, { resetMethod: ['flr', 'bus', 'cxl_bus'] })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { fallbacks: ['kernel:cxl_bus', 'flr'] },
  },
  {
    name: 'CXL port, kernel without cxl_bus: FLR selected alone, its bus kept out of the chain',
    fns: [cxlPort(1, 1), endpoint('0000:01:00.0', RP1)],
    steps: ['kernel:flr@01:00.0[01:00.0]'],
    first: { fallbacks: ['flr'] },
  },
  // Built-in drivers bound in the capture kernel: only the kernel's forms call reset_prepare/reset_done.
  {
    name: 'nvme bound, no reset_method file: no raw FLR or bus reset under it, unresettable naming the driver',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { classCode: 0x010802, driver: 'nvme', resetMethod: null })],
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['driver nvme is bound: a raw reset skips nvme\'s reset_prepare/reset_done', 'which has driver nvme bound'],
  },
  {
    name: 'nvme bound, the kernel lists flr: its reset file, and only kernel fallbacks',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { classCode: 0x010802, driver: 'nvme' })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { fallbacks: ['kernel:bus'], saveRestore: [] },
  },
  {
    name: 'a bound driver alone below its port with only bus: the kernel\'s bus through its reset file',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { driver: 'megaraid_sas' })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'bus', fallbacks: [] },
  },
  {
    name: 'vfio-pci bound: no user in a capture kernel, so a raw FLR is still allowed',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { driver: 'vfio-pci', resetMethod: null })],
    steps: ['flr@01:00.0[01:00.0]'],
  },
  {
    name: 'GPU without a driver next to its HDA bound to snd_hda_intel: no raw bus reset, the HDA through the kernel',
    fns: [
      rootPort(1, 1),
      endpoint('0000:01:00.0', RP1, { vendor: 0x1002, device: 0x67df, classCode: 0x030000, pcie: { type: 'legacy_endpoint' }, pm: {}, flags: { noPm: true } }),
      endpoint('0000:01:00.1', RP1, { vendor: 0x1002, device: 0xaaf0, classCode: 0x040300, pcie: { type: 'legacy_endpoint' }, pm: {}, driver: 'snd_hda_intel' }),
    ],
    steps: ['kernel@01:00.1[01:00.1]'],
    unresettable: ['01:00.0'],
    reasons: ['would also reset 0000:01:00.1, which has driver snd_hda_intel bound'],
  },
  {
    name: 'a PF whose VFs are bound to iavf: no raw FLR of the PF (it resets the VFs); each VF through the kernel',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { sriov: SRIOV, resetMethod: null }), vf('0000:01:02.0', { driver: 'iavf' }), vf('0000:01:02.1', { driver: 'iavf' })],
    steps: ['kernel@01:02.0[01:02.0]', 'kernel@01:02.1[01:02.1]'],
    unresettable: ['01:00.0'],
    reasons: ['its VF 0000:01:02.0 has driver iavf bound, and a flr of the PF resets its VFs'],
  },
  {
    name: 'prefer=vfio on a function bound to another driver: the agent never rebinds, the kernel\'s reset instead',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { driver: 'nvme' })],
    table: '1234:0001 prefer=vfio reason="test: owned by a VM"',
    steps: ['kernel@01:00.0[01:00.0]'],
    reasons: ['not vfio: VFIO_DEVICE_RESET needs the function bound to vfio-pci (bound: nvme)'],
  },
  // The kernel's listing: what it omits is forbidden (a NO_*_RESET quirk newer than the table, or the admin).
  {
    name: 'DevCap FLR+ but the kernel lists "pm bus" (a newer quirk_no_flr): PM through the kernel, no raw FLR fallback',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { pm: {}, resetMethod: ['pm', 'bus'] })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'pm', fallbacks: ['kernel:bus', 'pm', 'bus'] },
    reasons: ['not flr: forbidden: the kernel\'s reset_method "pm bus" omits flr although DevCap FLR+: a PCI_DEV_FLAGS_NO_FLR_RESET quirk'],
  },
  {
    name: 'PM allowed by the bits but omitted by the kernel: the kernel\'s bus, no raw PM',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { pm: {}, resetMethod: ['bus'] })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'bus', fallbacks: ['bus'] },
    reasons: ['omits pm although PM No_Soft_Reset-'],
  },
  {
    name: 'administrator left only device_specific: no raw FLR, PM or bus as fallbacks',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { pm: {}, resetMethod: ['device_specific'] })],
    steps: ['kernel@01:00.0[01:00.0]'],
    first: { underlying: 'device_specific', fallbacks: [] },
  },
  {
    name: 'bus omitted for a function alone below its port: trusted, so unresettable',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { resetMethod: ['af_flr'] })],
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['the kernel\'s reset_method "af_flr" omits bus although 0000:01:00.0 is alone on its bus'],
  },
  {
    name: 'the kernel lists acpi: the platform\'s _RST through the reset file (issue 12 item 5)',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { resetMethod: ['acpi'] })],
    steps: ['kernel@01:00.0[01:00.0]'],
    reasons: ['the platform\'s ACPI _RST, ranked above flr by the kernel'],
  },
  {
    name: 'bus omitted by a function that shares its bus: an enumeration artefact, the bus reset of both goes ahead',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { resetMethod: ['bus'] }), busOnly('0000:01:00.1', RP1, { resetMethod: ['acpi'] })],
    steps: ['bus@00:01.0[01:00.0 01:00.1]'],
  },
  {
    name: 'empty reset_method (administrator disabled every reset): unresettable citing the listing',
    fns: [rootPort(1, 1), endpoint('0000:01:00.0', RP1, { resetMethod: [] })],
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['reset_method is empty'],
  },
  {
    name: 'empty reset_method on a sibling: no bus reset may reach it',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1), endpoint('0000:01:00.1', RP1, { resetMethod: [] })],
    steps: [],
    unresettable: ['01:00.0', '01:00.1'],
    reasons: ['a bus reset of 0000:00:01.0 would also reset 0000:01:00.1: the kernel lists no reset method'],
  },
  // A PM reset of a PF clears VF Enable like an FLR: its VFs are in the step.
  {
    name: 'PM reset of a PF through the kernel: its VFs are in the step',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { sriov: SRIOV, pm: {} }), vf('0000:01:02.0'), vf('0000:01:02.1')],
    steps: ['kernel@01:00.0[01:00.0 01:02.0 01:02.1]'],
    first: { underlying: 'pm', saveRestore: [] },
    reasons: ['also resets its VFs 0000:01:02.0, 0000:01:02.1: a PM reset (D3hot->D0 with No_Soft_Reset clear) of the PF clears VF Enable'],
  },
  {
    name: 'raw PM reset of a PF: its VFs are in the step and saved and restored with it',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { sriov: SRIOV, pm: {}, resetMethod: null }), vf('0000:01:02.0'), vf('0000:01:02.1')],
    steps: ['pm@01:00.0[01:00.0 01:02.0 01:02.1]'],
    first: { saveRestore: ['0000:01:00.0', '0000:01:02.0', '0000:01:02.1'] },
  },
  {
    name: 'a VF excluded by policy forbids the PF\'s PM reset too',
    fns: [rootPort(1, 1), busOnly('0000:01:00.0', RP1, { sriov: { ...SRIOV, numVfs: 1 }, pm: {} }), vf('0000:01:02.0')],
    policy: { exclude: ['01:02.0'] },
    steps: [],
    unresettable: ['01:00.0'],
    reasons: ['a PM reset (D3hot->D0 with No_Soft_Reset clear) of this PF would also reset its VF 0000:01:02.0'],
  },
];

describe('method choice and conflict rules', () => {
  for (const row of [...rows, ...kdumpRows]) {
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
        if (f.assumeFlr !== undefined) expect(s.assumeFlr ?? false).toBe(f.assumeFlr);
        if (f.assumeFlr) expect([s.method, ...s.fallbacks]).toContain('flr');
        if (f.waits) expect(Object.fromEntries(s.waits.map((w) => [w.what, w.ms]))).toEqual(f.waits);
      }
      // Every function exactly once, whatever the case.
      const seen = [...plan.steps.flatMap((s) => s.functions), ...plan.unresettable.map((e) => e.bdf), ...plan.excluded.map((e) => e.bdf)];
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBe(row.fns.length);
    });
  }
});
