import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { scan } from '../../src/scan/scan.js';
import { assessIommu } from '../../src/iommu/assess.js';
import type { IommuReport } from '../../src/iommu/iommu-report.js';

/**
 * Mock roots for the IOMMU verdict: the QEMU q35 guest of the e2e recipe (root ports with an e1000e and
 * an NVMe, a PCIe-to-PCI bridge with an e1000, the ICH9 LPC), plus whatever kernel state a case needs.
 */
export function q35Functions(): MockFunction[] {
  const rp = (bdf: string, sec: number, sub: number, group: number): MockFunction => ({
    bdf, vendor: 0x1b36, device: 0x000c, classCode: 0x060400, bridge: { secondaryBus: sec, subordinateBus: sub },
    pcie: { type: 'root_port', linkSpeed: 1, dllla: true }, pm: { version: 3 }, msi: true, driver: 'pcieport', iommuGroup: group,
  });
  return [
    { bdf: '0000:00:00.0', vendor: 0x8086, device: 0x29c0, classCode: 0x060000, iommuGroup: 0 },
    rp('0000:00:01.0', 0x01, 0x01, 1),
    rp('0000:00:02.0', 0x02, 0x02, 2),
    rp('0000:00:03.0', 0x03, 0x04, 3),
    rp('0000:00:04.0', 0x05, 0x07, 4),
    { bdf: '0000:00:1f.0', vendor: 0x8086, device: 0x2918, classCode: 0x060100, iommuGroup: 5 },
    { bdf: '0000:00:1f.2', vendor: 0x8086, device: 0x2922, classCode: 0x010601, msi: true, iommuGroup: 5 },
    { bdf: '0000:00:1f.3', vendor: 0x8086, device: 0x2930, classCode: 0x0c0500, iommuGroup: 5 },
    { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, pcie: { type: 'endpoint', linkSpeed: 1 }, pm: { version: 3 }, msi: true, msix: true, iommuGroup: 6 },
    { bdf: '0000:02:00.0', parent: '0000:00:02.0', vendor: 0x1b36, device: 0x0010, classCode: 0x010802, pcie: { type: 'endpoint', flr: true, linkSpeed: 1 }, pm: { version: 3 }, msix: true, iommuGroup: 7 },
    { bdf: '0000:03:00.0', parent: '0000:00:03.0', vendor: 0x1b36, device: 0x000e, classCode: 0x060400, bridge: { secondaryBus: 0x04, subordinateBus: 0x04 }, pcie: { type: 'pcie_to_pci_bridge' }, pm: { version: 3 }, iommuGroup: 8 },
    { bdf: '0000:04:01.0', parent: '0000:03:00.0', vendor: 0x8086, device: 0x100e, classCode: 0x020000, iommuGroup: 8 },
    { bdf: '0000:05:00.0', parent: '0000:00:04.0', vendor: 0x104c, device: 0x8232, classCode: 0x060400, bridge: { secondaryBus: 0x06, subordinateBus: 0x07 }, pcie: { type: 'upstream_port' }, pm: { version: 3 }, iommuGroup: 9 },
    { bdf: '0000:06:00.0', parent: '0000:05:00.0', vendor: 0x104c, device: 0x8233, classCode: 0x060400, bridge: { secondaryBus: 0x07, subordinateBus: 0x07 }, pcie: { type: 'downstream_port', dllla: true }, pm: { version: 3 }, iommuGroup: 10 },
    { bdf: '0000:07:00.0', parent: '0000:06:00.0', vendor: 0x1af4, device: 0x1041, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, pm: { version: 3 }, msix: true, iommuGroup: 10 },
  ];
}

/** The same guest with QEMU's amd-iommu (class 0x0806) at 00:05.0. */
export function q35AmdFunctions(): MockFunction[] {
  return [...q35Functions(), { bdf: '0000:00:05.0', vendor: 0x1022, device: 0x0020, classCode: 0x080600, iommuGroup: 11 }];
}

export interface RegisterBlock {
  base: bigint;
  /** offset → [width, value] */
  values: Record<number, [4 | 8, bigint | number]>;
}

export interface Scenario {
  /** /proc/vmcore + elfcorehdr= on the command line. */
  capture: boolean;
  /** Extra command line words (elfcorehdr is added for a capture kernel). */
  cmdline?: string;
  /** proc/cmdline verbatim (instead of the words built from `cmdline`), e.g. the kmsg's own "Command line:". */
  procCmdline?: string;
  osrelease?: string;
  functions?: MockFunction[];
  /** Omit iommu_group links (a kernel without an IOMMU driver has none). */
  noGroups?: boolean;
  /** ACPI tables by signature; `tables: {}` gives an empty tables directory. */
  tables?: Record<string, Uint8Array>;
  /** /sys/class/iommu units. Setting it (even to []) creates the class directory. */
  sysfs?: ({ name: string; vendor: 'intel'; address: string; devices?: string[] } | { name: string; vendor: 'amd'; devices?: string[]; features?: string | null } | { name: string; vendor: 'other'; files?: string[] })[];
  /** dev/kmsg content (a regular file in the mock). */
  kmsg?: string;
  /** The crashed kernel's log, passed as --old-log. */
  oldLog?: string;
  /** dev/mem as a sparse file with register values at physical addresses. */
  mem?: RegisterBlock[];
  /** Size to cut dev/mem to (a short read). */
  memSize?: number;
  /** sys/kernel/debug/iommu/intel/iommu_regset content. */
  regset?: string;
  /** Device-tree properties under proc/device-tree (path → raw bytes or text). */
  devicetree?: Record<string, Uint8Array | string>;
  /** proc/iomem content. */
  iomem?: string;
  /** sys/kernel/iommu_groups/N/type of every group (the mock writes `DMA`). */
  groupType?: string;
}

const dirs: string[] = [];

export function cleanupRoots(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function writeScenario(s: Scenario): { dir: string; oldLogFile?: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommu-root-'));
  dirs.push(dir);
  const tree = new MockTree().addAll((s.functions ?? q35Functions()).map((f) => (s.noGroups ? { ...f, iommuGroup: undefined } : f)));
  const words = ['BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64', 'console=ttyS0', s.cmdline ?? ''].filter(Boolean);
  if (s.capture) words.push('elfcorehdr=1654132K');
  tree.file('proc/cmdline', `${s.procCmdline ?? words.join(' ')}\n`);
  tree.file('proc/sys/kernel/osrelease', `${s.osrelease ?? '6.1.0-26-amd64'}\n`);
  if (s.capture) tree.file('proc/vmcore', '');
  if (s.tables) {
    tree.file('sys/firmware/acpi/tables/APIC', new Uint8Array(44));
    for (const [sig, bytes] of Object.entries(s.tables)) tree.file(`sys/firmware/acpi/tables/${sig}`, bytes);
  }
  if (s.kmsg !== undefined) tree.file('dev/kmsg', s.kmsg);
  for (const [rel, v] of Object.entries(s.devicetree ?? {})) tree.file(`proc/device-tree/${rel}`, v);
  if (s.iomem !== undefined) tree.file('proc/iomem', s.iomem);
  if (s.regset !== undefined) tree.file('sys/kernel/debug/iommu/intel/iommu_regset', s.regset);
  if (s.sysfs) {
    fs.mkdirSync(path.join(dir, 'sys/class/iommu'), { recursive: true });
    for (const u of s.sysfs) {
      const base = `sys/devices/virtual/iommu/${u.name}`;
      if (u.vendor === 'intel') {
        tree.file(`${base}/intel-iommu/address`, `${u.address}\n`);
        tree.file(`${base}/intel-iommu/version`, '1:0\n');
        tree.file(`${base}/intel-iommu/cap`, 'd2008c22260286\n');
        tree.file(`${base}/intel-iommu/ecap`, 'f00f4a\n');
      } else if (u.vendor === 'amd') {
        tree.file(`${base}/amd-iommu/cap`, '40\n');
        // amd-iommu/features: "EFR:EFR2" in hex (amd/iommu.c features_show()); null: no such file.
        const features = u.features === undefined ? '246577efa2254afa:0' : u.features;
        if (features !== null) tree.file(`${base}/amd-iommu/features`, `${features}\n`);
      } else {
        for (const f of u.files ?? ['uevent']) tree.file(`${base}/${f}`, '');
      }
      tree.file(`${base}/uevent`, '');
      tree.link(`sys/class/iommu/${u.name}`, `../../devices/virtual/iommu/${u.name}`);
      for (const bdf of 'devices' in u ? (u.devices ?? []) : []) tree.link(`${base}/devices/${bdf}`, `../../../../../bus/pci/devices/${bdf}`);
    }
  }
  tree.write(dir);
  if (s.groupType !== undefined) {
    const g = path.join(dir, 'sys/kernel/iommu_groups');
    for (const n of fs.existsSync(g) ? fs.readdirSync(g) : []) fs.writeFileSync(path.join(g, n, 'type'), `${s.groupType}\n`);
  }
  if (s.mem) {
    const p = path.join(dir, 'dev/mem');
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const fd = fs.openSync(p, 'w');
    for (const block of s.mem) {
      for (const [off, [width, value]] of Object.entries(block.values)) {
        const b = Buffer.alloc(width);
        if (width === 4) b.writeUInt32LE(Number(value));
        else b.writeBigUInt64LE(BigInt(value));
        fs.writeSync(fd, b, 0, width, Number(block.base) + Number(off));
      }
    }
    fs.closeSync(fd);
    if (s.memSize !== undefined) fs.truncateSync(p, s.memSize);
  }
  let oldLogFile: string | undefined;
  if (s.oldLog !== undefined) {
    oldLogFile = path.join(dir, '..', `${path.basename(dir)}-old.log`);
    fs.writeFileSync(oldLogFile, s.oldLog);
    dirs.push(oldLogFile);
  }
  return { dir, oldLogFile };
}

export async function assessScenario(s: Scenario, opts: { readRegisters?: boolean; kmsgFile?: string } = {}): Promise<IommuReport> {
  const { dir, oldLogFile } = writeScenario(s);
  const root = new Root(dir);
  const result = scan(new SysfsAccess(root), dir);
  return assessIommu(root, result, { oldLogFile, ...opts });
}

/** A kernel log as dmesg prints it, with boot-time stamps. */
export function dmesg(...lines: string[]): string {
  return lines.map((l, i) => `[    ${(i * 0.01).toFixed(6)}] ${l}`).join('\n') + '\n';
}

export const VTD_GSTS = 0x1c;
export const VTD_RTADDR = 0x20;
export const AMD_CONTROL = 0x18;
