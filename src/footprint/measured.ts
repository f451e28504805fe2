/**
 * Crashkernel sizes measured with the e2e (docs/kdump.md, "Footprint"): the smallest `crashkernel=` with
 * which the whole capture run completed (agent done, every check passed, /proc/vmcore read), under QEMU
 * q35 + intel-iommu, node v20.20.2, image compressed with zstd -10: kernel 6.1.0-56-amd64 (2026-11-24), the
 * zstd default re-bisected on 6.1.0-57-amd64 with the agent of 2026-12-04 (176M works, 168M fails). One
 * table, read by `footprint` and checked against module-setup.sh's warning and docs/kdump.md by test/packaging.
 */
export interface MeasuredCrashkernel {
  /** How node is in the image. */
  readonly node: 'squashfs-xz' | 'squashfs-zstd' | 'plain' | 'none';
  readonly label: string;
  /** Smallest crashkernel= that completed the capture run, in MiB. */
  readonly worksMiB: number;
  /** The next size down, which failed, in MiB, and how. */
  readonly failsMiB: number;
  readonly failure: string;
}

export const MEASURED_CRASHKERNEL: readonly MeasuredCrashkernel[] = [
  { node: 'none', label: 'capture image without the agent', worksMiB: 112, failsMiB: 96, failure: 'out of memory' },
  { node: 'squashfs-xz', label: 'agent, node in an xz squashfs', worksMiB: 160, failsMiB: 152, failure: 'Initramfs unpacking failed: write error' },
  { node: 'squashfs-zstd', label: 'agent, node in a zstd squashfs (default)', worksMiB: 176, failsMiB: 168, failure: 'Initramfs unpacking failed: write error' },
  { node: 'plain', label: 'agent, node as a plain file', worksMiB: 320, failsMiB: 256, failure: 'Initramfs unpacking failed: write error' },
];

/** The crashkernel= the shipped default (zstd squashfs) is documented with: 256M, with margin over 176M. */
export const RECOMMENDED_CRASHKERNEL_MIB = 256;
