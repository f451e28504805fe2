import * as fs from 'node:fs';

/**
 * Physical memory through /dev/mem, for reading IOMMU registers (MMIO). Loaded only by the register
 * step (dynamic import), so scan and plan never load koffi.
 *
 * The device is opened O_RDONLY|O_SYNC: on x86, O_SYNC makes the kernel map the page uncached, which
 * MMIO needs. One 4 KiB page is mapped PROT_READ/MAP_SHARED at the page-aligned base; registers are read
 * with single aligned 32- or 64-bit loads (koffi.decode dereferences a typed pointer), never byte-wise.
 */
import { loadLibc, type Koffi } from './libc.js';

const PAGE = 4096;
const PROT_READ = 0x1;
const MAP_SHARED = 0x01;
const MAP_FAILED = 0xffffffffffffffffn;

interface Libc {
  mmap: (addr: null, length: number, prot: number, flags: number, fd: number, offset: bigint) => unknown;
  munmap: (addr: unknown, length: number) => number;
}

let loaded: { koffi: Koffi; libc: Libc } | null = null;

/**
 * Load koffi and bind mmap/munmap. A dynamic import even here, so that a bundle (esbuild, koffi kept
 * external) still loads koffi only when registers are read.
 */
export async function loadFfi(): Promise<void> {
  if (loaded) return;
  const { koffi, libc: lib } = await loadLibc();
  loaded = {
    koffi,
    libc: {
      mmap: lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as Libc['mmap'],
      munmap: lib.func('int munmap(void *addr, size_t length)') as Libc['munmap'],
    },
  };
}

/** An errno-carrying failure, so callers can tell EPERM (STRICT_DEVMEM, lockdown) from other errors. */
export class DevMemError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface MappedWindow {
  /** Physical address the window starts at (the requested base, not the page). */
  readonly base: bigint;
  /** Bytes readable from `base`. */
  readonly size: number;
  read32(offset: number): number;
  read64(offset: number): bigint;
  close(): void;
}

/** Open a /dev/mem-like file read-only with O_SYNC. */
export function openDevMem(path: string): number {
  try {
    return fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_SYNC);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new DevMemError(code, `open ${path}: ${code}`);
  }
}

/** Map the page holding `base` (4 KiB, read-only, shared) from an fd opened by openDevMem; loadFfi() first. */
export function mapPhysical(fd: number, base: bigint): MappedWindow {
  if (!loaded) throw new DevMemError('ENOSYS', 'loadFfi() must be awaited before mapPhysical()');
  const { koffi, libc } = loaded;
  const pageBase = base & ~BigInt(PAGE - 1);
  const delta = Number(base - pageBase);
  const ptr = libc.mmap(null, PAGE, PROT_READ, MAP_SHARED, fd, pageBase);
  if (ptr === null || koffi.address(ptr) === MAP_FAILED) {
    const errno = koffi.errno();
    const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    throw new DevMemError(code, `mmap of 0x${pageBase.toString(16)}: ${code}`);
  }
  let open = true;
  const check = (offset: number, width: number): void => {
    if (!open) throw new DevMemError('EBADF', 'window already closed');
    if (offset < 0 || offset % width !== 0 || delta + offset + width > PAGE) {
      throw new DevMemError('EINVAL', `register offset 0x${offset.toString(16)} is outside the mapped page or unaligned`);
    }
  };
  return {
    base,
    size: PAGE - delta,
    read32(offset: number): number {
      check(offset, 4);
      return koffi.decode(ptr, delta + offset, 'uint32_t') as number;
    },
    read64(offset: number): bigint {
      check(offset, 8);
      return BigInt(koffi.decode(ptr, delta + offset, 'uint64_t') as bigint | number);
    },
    close(): void {
      if (!open) return;
      open = false;
      libc.munmap(ptr, PAGE);
    },
  };
}

/** The errnos mmap(2) on /dev/mem returns, by name. */
const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 19: 'ENODEV', 22: 'EINVAL', 75: 'EOVERFLOW' };
