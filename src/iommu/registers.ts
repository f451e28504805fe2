import * as fs from 'node:fs';
import { O_PATH } from '../../native-bindings/fs-at.js';
import { checkKind, MEM_DEVICE, type FileKind } from '../access/bounded-read.js';
import type { Root } from '../access/root.js';
import { describeError } from './describe-error.js';
import { parseRegset } from './debugfs-regset.js';
import { hexAddress } from './acpi/bytes.js';

/** VT-d register offsets and bits (drivers/iommu/intel/iommu.h). */
export const VTD = {
  VER: 0x00,
  CAP: 0x08,
  ECAP: 0x10,
  GSTS: 0x1c,
  RTADDR: 0x20,
  /** GSTS bit 31: DMA translation enabled. */
  TES: 0x8000_0000,
  /** GSTS bit 30: root table pointer set. */
  RTPS: 0x4000_0000,
  /** GSTS bit 25: interrupt remapping enabled. */
  IRES: 0x0200_0000,
  /** RTADDR bit 10: scalable-mode root table. */
  RTADDR_SMT: 1n << 10n,
} as const;

/** AMD-Vi MMIO offsets (drivers/iommu/amd/amd_iommu_types.h). */
export const AMDVI = {
  DEV_TABLE: 0x00,
  CONTROL: 0x18,
  EXT_FEATURES: 0x30,
  /** CONTROL bit 0: IommuEn. */
  IOMMU_EN: 1n,
} as const;

/** SMMUv3 register offsets and bits (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:22-148 of Linux 6.18.19). */
export const SMMUV3 = {
  IDR0: 0x0,
  CR0: 0x20,
  CR0ACK: 0x24,
  GBPA: 0x44,
  GERROR: 0x60,
  GERRORN: 0x64,
  STRTAB_BASE: 0x80,
  STRTAB_BASE_CFG: 0x88,
  /** CR0 bit 0: the SMMU translates (else GBPA decides: abort or bypass). */
  SMMUEN: 1,
  /** CR0 bit 2: event queue on (off in a kdump kernel: faults are not logged). */
  EVTQEN: 1 << 2,
  /** GBPA bit 20: with SMMUEN clear, every transaction is aborted (else it bypasses). */
  GBPA_ABORT: 1 << 20,
  /** GERROR bit 8: service failure mode. */
  SFM_ERR: 1 << 8,
  /** STRTAB_BASE bits 51:6: the stream table's physical address. */
  STRTAB_ADDR_MASK: ((1n << 52n) - 1n) & ~0x3fn,
} as const;

export interface UnitToRead {
  name: string;
  vendor: 'intel' | 'amd' | 'arm';
  base: bigint;
}

export interface RegisterValues {
  unit: string;
  vendor: 'intel' | 'amd' | 'arm';
  base: string;
  /** `mmio:dev/mem` (mapped or read now), `debugfs` (the driver's own dump). */
  source: string;
  gsts?: number;
  rtaddr?: bigint;
  ver?: number;
  cap?: bigint;
  ecap?: bigint;
  control?: bigint;
  devTable?: bigint;
  extFeatures?: bigint;
  /** SMMUv3 */
  idr0?: number;
  cr0?: number;
  gbpa?: number;
  gerror?: number;
  gerrorn?: number;
  strtabBase?: bigint;
  strtabBaseCfg?: number;
}

export interface RegisterResult {
  values: RegisterValues[];
  problems: string[];
  /** What happened to access, for the evidence list (`dev/mem refused: EPERM …`). */
  notes: string[];
}

interface Window {
  read32(offset: number): number;
  read64(offset: number): bigint;
  close(): void;
}

const MEM = 'dev/mem';
const REGSET = 'sys/kernel/debug/iommu/intel/iommu_regset';

/**
 * Read each unit's status registers: GSTS/RTADDR (and VER/CAP/ECAP to check the window is really the
 * unit) for VT-d, the control register for AMD-Vi. `dev/mem` under the root is mapped through koffi when
 * it is the character device, or read with pread when it is a regular file (a mock root's sparse file
 * holding register values at the unit's physical address). When it is refused or short, the Intel
 * driver's debugfs dump is tried for the units it still lacks.
 */
export async function readRegisters(root: Root, units: UnitToRead[], io: RegisterIo = {}): Promise<RegisterResult> {
  const result: RegisterResult = { values: [], problems: [], notes: [] };
  if (units.length === 0) return result;
  const missing = new Set(units.map((u) => u.name));

  const opener = await memOpener(root, result, io);
  if (opener) {
    try {
      for (const u of units) {
        let w: Window | null = null;
        try {
          w = opener.map(u.base);
          const v = u.vendor === 'intel' ? readVtd(w, u) : u.vendor === 'amd' ? readAmd(w, u) : readSmmuV3(w, u);
          const bogus = implausible(v);
          if (bogus) {
            result.problems.push(`${MEM} at ${hexAddress(u.base)} (${u.name}): ${bogus}; values not used`);
          } else {
            v.source = `mmio:${MEM}`;
            result.values.push(v);
            missing.delete(u.name);
          }
        } catch (err) {
          result.problems.push(`${MEM} at ${hexAddress(u.base)} (${u.name}): ${describeMemError(err)}`);
        } finally {
          w?.close();
        }
      }
    } finally {
      opener.close();
    }
  }

  const intelMissing = units.filter((u) => u.vendor === 'intel' && missing.has(u.name));
  if (intelMissing.length > 0) fromDebugfs(root, intelMissing, result);
  return result;
}

function readVtd(w: Window, u: UnitToRead): RegisterValues {
  return {
    unit: u.name,
    vendor: 'intel',
    base: hexAddress(u.base),
    source: '',
    ver: w.read32(VTD.VER),
    cap: w.read64(VTD.CAP),
    ecap: w.read64(VTD.ECAP),
    gsts: w.read32(VTD.GSTS),
    rtaddr: w.read64(VTD.RTADDR),
  };
}

function readAmd(w: Window, u: UnitToRead): RegisterValues {
  return {
    unit: u.name,
    vendor: 'amd',
    base: hexAddress(u.base),
    source: '',
    devTable: w.read64(AMDVI.DEV_TABLE),
    control: w.read64(AMDVI.CONTROL),
    extFeatures: w.read64(AMDVI.EXT_FEATURES),
  };
}

function readSmmuV3(w: Window, u: UnitToRead): RegisterValues {
  return {
    unit: u.name,
    vendor: 'arm',
    base: hexAddress(u.base),
    source: '',
    idr0: w.read32(SMMUV3.IDR0),
    cr0: w.read32(SMMUV3.CR0),
    gbpa: w.read32(SMMUV3.GBPA),
    gerror: w.read32(SMMUV3.GERROR),
    gerrorn: w.read32(SMMUV3.GERRORN),
    strtabBase: w.read64(SMMUV3.STRTAB_BASE),
    strtabBaseCfg: w.read32(SMMUV3.STRTAB_BASE_CFG),
  };
}

/** All-ones is what a read of an unclaimed or blocked MMIO address returns, never a real status. */
function implausible(v: RegisterValues): string | null {
  if (v.vendor === 'intel' && v.gsts === 0xffff_ffff && v.ver === 0xffff_ffff) return 'registers read all ones (no unit at this address, or access blocked)';
  if (v.vendor === 'amd' && v.control === 0xffff_ffff_ffff_ffffn) return 'control register reads all ones (no unit at this address, or access blocked)';
  if (v.vendor === 'arm' && v.cr0 === 0xffff_ffff && v.idr0 === 0xffff_ffff) return 'CR0 and IDR0 read all ones (no SMMU at this address, or access blocked)';
  return null;
}

/** How a register file is opened; tests replace it to see a refusal (root cannot be refused by mode bits). */
export interface RegisterIo {
  openFile?: (host: string) => number;
  /** The device numbers dev/mem must have (1:1); tests map /dev/zero's (1:5) instead, never the host's memory. */
  memDevice?: { major: number; minor: number };
}

interface MemOpener {
  map(base: bigint): Window;
  close(): void;
}

async function memOpener(root: Root, result: RegisterResult, io: RegisterIo): Promise<MemOpener | null> {
  let host: string;
  let st: FileKind;
  // Its type through the root (O_PATH: no device is opened just to look at it); the open that follows is
  // of this very file (Root.reopen), never of its path resolved again.
  let pathFd: number;
  try {
    host = root.resolve(MEM);
    pathFd = root.open(MEM, { flags: O_PATH });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    result.notes.push(code === 'ENOENT' ? `${MEM} absent: registers not read` : `${MEM}: ${describeError(err)}`);
    if (code !== 'ENOENT') result.problems.push(`${MEM}: ${describeError(err)}`);
    return null;
  }
  try {
    st = root.statFd(pathFd);
    const type = st.mode & 0o170000;
    if (type === 0o100000) {
      return fileOpener(host, result, io.openFile ?? (() => root.reopen(pathFd, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK, host)));
    }
    try {
      checkKind(st, MEM, io.memDevice ? { ...MEM_DEVICE, charDevice: io.memDevice } : MEM_DEVICE);
    } catch (err) {
      result.problems.push(`${(err as Error).message}; registers not read`);
      return null;
    }
    // Only now, for a real device, load the FFI.
    let devmem: typeof import('../../native-bindings/devmem.js');
    try {
      devmem = await import('../../native-bindings/devmem.js');
      await devmem.loadFfi();
    } catch (err) {
      result.problems.push(`${MEM}: the FFI binding could not be loaded (${describeError(err)}); registers not read`);
      return null;
    }
    let fd: number;
    try {
      // O_SYNC: on x86 the kernel then maps the page uncached, which MMIO needs (see devmem.ts).
      fd = root.reopen(pathFd, fs.constants.O_RDONLY | fs.constants.O_SYNC, host);
    } catch (err) {
      const e = new devmem.DevMemError((err as NodeJS.ErrnoException).code ?? 'EIO', `open ${host}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`);
      result.problems.push(`${MEM}: ${describeMemError(e)}`);
      result.notes.push(`${MEM} refused: ${describeMemError(e)}`);
      return null;
    }
    return {
      map: (base) => devmem.mapPhysical(fd, base),
      close: () => fs.closeSync(fd),
    };
  } finally {
    fs.closeSync(pathFd);
  }
}

/** A regular file standing in for /dev/mem: pread at the physical address, each read checked for length. */
function fileOpener(host: string, result: RegisterResult, open: (host: string) => number): MemOpener | null {
  let fd: number;
  try {
    fd = open(host);
  } catch (err) {
    result.problems.push(`${MEM}: ${describeMemError(err)}`);
    result.notes.push(`${MEM} refused: ${describeMemError(err)}`);
    return null;
  }
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(8);
  const read = (base: bigint, offset: number, width: 4 | 8): bigint => {
    const at = base + BigInt(offset);
    const n = fs.readSync(fd, buf, 0, width, at);
    if (n < width) {
      throw Object.assign(new Error(`short read: ${n} of ${width} bytes at ${hexAddress(at)} (file ends at ${hexAddress(size)})`), { code: 'SHORT' });
    }
    return width === 4 ? BigInt(buf.readUInt32LE(0)) : buf.readBigUInt64LE(0);
  };
  return {
    map: (base) => ({
      read32: (o) => Number(read(base, o, 4)),
      read64: (o) => read(base, o, 8),
      close: () => undefined,
    }),
    close: () => fs.closeSync(fd),
  };
}

function fromDebugfs(root: Root, units: UnitToRead[], result: RegisterResult): void {
  let text: string | null;
  try {
    text = root.readText(REGSET);
  } catch (err) {
    result.problems.push(`${REGSET}: ${describeError(err)}`);
    return;
  }
  if (text === null) {
    result.notes.push(`${REGSET} absent (CONFIG_INTEL_IOMMU_DEBUGFS off, debugfs not mounted, or the driver not running)`);
    return;
  }
  const parsed = parseRegset(text);
  result.problems.push(...parsed.problems.map((p) => `${REGSET}: ${p}`));
  for (const u of units) {
    const base = hexAddress(u.base);
    const found = parsed.units.find((r) => r.base === base) ?? parsed.units.find((r) => r.name === u.name);
    if (!found) continue;
    const g = found.registers.get('GSTS');
    if (g === undefined) {
      result.problems.push(`${REGSET}: ${found.name} has no GSTS line`);
      continue;
    }
    result.values.push({
      unit: u.name,
      vendor: 'intel',
      base,
      source: 'debugfs',
      gsts: Number(g),
      rtaddr: found.registers.get('RTADDR'),
      ver: found.registers.has('VER') ? Number(found.registers.get('VER')) : undefined,
      cap: found.registers.get('CAP'),
      ecap: found.registers.get('ECAP'),
    });
  }
}

function describeMemError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'EPERM' || code === 'EACCES') {
    return `${code}: access refused (CONFIG_STRICT_DEVMEM/IO_STRICT_DEVMEM while a driver claims the region, kernel lockdown, or not root)`;
  }
  if (code === 'SHORT') return (err as Error).message;
  return describeError(err);
}
