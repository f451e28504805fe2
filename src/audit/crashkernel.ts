/**
 * How much memory the capture kernel gets, and whether that is enough for its image. The reservation
 * is read from /sys/kernel/kexec_crash_size (what the kernel actually reserved, the figure kdumpctl's
 * get_reserved_mem_size() uses); when that is absent, `crashkernel=` of /proc/cmdline is evaluated the
 * way kernel/crash_reserve.c parse_crashkernel() does (plain size, or `start-[end]:size,…` ranges
 * against system RAM; `@offset`, `,high`, `,low` suffixes ignored for the size).
 *
 * What is "enough" is an estimate calibrated on the e2e measurements (docs/kdump.md, Footprint):
 *   needed ≈ 112 MiB + (image file + unpacked image − 9.0 MB) + 8 MiB
 * 112 MiB is the smallest crashkernel= with which the e2e capture image without the agent (2.4 MB
 * compressed, 6.6 MB unpacked) completed. Without the 8 MiB the formula fell between a failing and a
 * working bisection step for the zstd image (33.6 / 40.8 MB: 175 MiB asked, 168M failed, 176M worked);
 * the 8 MiB (one bisection step) keeps it at or above the smallest size measured to work: 175 MiB for
 * the xz image (160M works), 183 MiB for the zstd one (176M works). A second rule covers
 * the rootfs tmpfs, which may fill at most half the capture kernel's memory (mm/shmem.c
 * shmem_default_max_blocks()): unpacked ≤ (crashkernel − 55 MiB) / 2, 55 MiB being what the capture
 * kernel itself kept of 160M and 256M reservations (MemTotal 106 and 200 MiB).
 */
import type { Root } from '../access/root.js';
import { parseKdumpWords } from '../iommu/cmdline.js';

const MiB = 1024 * 1024;

export interface CrashkernelCheck {
  /** The crashkernel= value on /proc/cmdline, null when none. */
  option: string | null;
  /** Bytes reserved, null when not known. */
  reservedBytes: number | null;
  /** Where reservedBytes comes from: `sys/kernel/kexec_crash_size` or `proc/cmdline`. */
  source: string | null;
  /** Estimated need in bytes for the image read, null when the image was not read. */
  neededBytes: number | null;
  /** reserved ≥ needed; null when either is unknown. */
  covers: boolean | null;
  basis: string;
}

export function checkCrashkernel(root: Root, cmdline: string | null, image: { storedBytes: number; unpackedBytes: number } | null): CrashkernelCheck {
  const option = cmdline ? parseKdumpWords(cmdline).crashkernel : null;
  let reservedBytes: number | null = null;
  let source: string | null = null;
  const sysfs = safeText(root, 'sys/kernel/kexec_crash_size');
  if (sysfs !== null && /^\d+\s*$/.test(sysfs)) {
    reservedBytes = Number(sysfs.trim());
    source = 'sys/kernel/kexec_crash_size';
  } else if (option !== null) {
    const ram = systemRamBytes(root);
    reservedBytes = evaluateCrashkernel(option, ram);
    source = reservedBytes !== null ? 'proc/cmdline' : null;
  }
  const needed = image ? neededBytes(image) : null;
  const covers = reservedBytes !== null && needed !== null ? reservedBytes >= needed : null;
  let basis: string;
  if (reservedBytes === 0) basis = 'no memory is reserved for a capture kernel: kdump cannot run';
  else if (reservedBytes === null) basis = option === null ? 'no crashkernel= on /proc/cmdline and no sys/kernel/kexec_crash_size' : `crashkernel=${option}: the reservation could not be worked out`;
  else if (needed === null) basis = `${mib(reservedBytes)} reserved; the image was not read, so the need is unknown`;
  else basis = `${mib(reservedBytes)} reserved (${source}), about ${mib(needed)} needed for this image (estimate from the e2e figures, docs/audit.md)`;
  return { option, reservedBytes, source, neededBytes: needed, covers: reservedBytes === 0 ? false : covers, basis };
}

export function neededBytes(image: { storedBytes: number; unpackedBytes: number }): number {
  const byMemory = 112 * MiB + Math.max(0, image.storedBytes + image.unpackedBytes - 9.0e6) + 8 * MiB;
  const byTmpfs = 55 * MiB + 2 * image.unpackedBytes;
  return Math.ceil(Math.max(byMemory, byTmpfs) / MiB) * MiB;
}

/** kernel/crash_reserve.c parse_crashkernel(): the size a `crashkernel=` value reserves on a machine with `ram` bytes. */
export function evaluateCrashkernel(value: string, ram: number | null): number | null {
  const v = value.replace(/@.*$/, '').replace(/,(high|low)$/, '');
  if (!v.includes(':')) return memparse(v);
  if (ram === null) return null;
  for (const part of v.split(',')) {
    const m = /^([^-:]+)-([^:]*):(.+)$/.exec(part);
    if (!m) return null;
    const start = memparse(m[1]!);
    const end = m[2] === '' ? Infinity : memparse(m[2]!);
    const size = memparse(m[3]!);
    if (start === null || end === null || size === null) return null;
    if (ram >= start && ram < end) return size;
  }
  return 0;
}

/** lib/cmdline.c memparse(): a number with an optional K, M, G, T, P, E suffix. */
export function memparse(s: string): number | null {
  const m = /^(\d+)([KMGTPE]?)$/i.exec(s.trim());
  if (!m) return null;
  const shift = { '': 0, K: 10, M: 20, G: 30, T: 40, P: 50, E: 60 }[m[2]!.toUpperCase() as '' | 'K']!;
  return Number(m[1]) * 2 ** shift;
}

/** System RAM as the kernel compares it: MemTotal is a little less, so round it up to 128 MiB as kdumpctl does. */
function systemRamBytes(root: Root): number | null {
  const text = safeText(root, 'proc/meminfo');
  const kb = text ? /^MemTotal:\s+(\d+)\s*kB/m.exec(text)?.[1] : undefined;
  if (!kb) return null;
  const bytes = Number(kb) * 1024;
  return Math.ceil(bytes / (128 * MiB)) * 128 * MiB;
}

export function mib(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`;
}

function safeText(root: Root, rel: string): string | null {
  try {
    return root.readText(rel);
  } catch {
    return null;
  }
}
