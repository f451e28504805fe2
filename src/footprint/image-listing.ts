import { spawnSync } from 'node:child_process';
import { parseUnsquashListing } from '../audit/image/squash-member.js';

/** One file of an initramfs listing: its path in the image (no leading slash) and size in bytes. */
export interface ImageEntry {
  readonly path: string;
  readonly bytes: number;
}

/**
 * Lists a kdump initramfs with the distribution's own tool, which knows its layout (an early cpio for
 * microcode in front, then zstd/gzip/xz): `lsinitramfs -l` (initramfs-tools) or `lsinitrd` (dracut). Both
 * print `ls -l`-style lines, size in the fifth column and the path last. Null when neither tool runs.
 */
export function listImage(image: string): { lister: string; entries: ImageEntry[] } | null {
  for (const [lister, args] of [
    ['lsinitramfs', ['-l', image]],
    ['lsinitrd', [image]],
  ] as const) {
    const r = spawnSync(lister, [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    if (r.error || r.status !== 0) continue;
    return { lister, entries: parseListing(r.stdout) };
  }
  return null;
}

/**
 * Regular files (mode starting with `-`) of an `ls -l`-style listing, and of the "Squashed content"
 * section lsinitrd adds for dracut's squashed images (`unsquashfs -ll`: there every file of the image,
 * the agent's included, is inside squash-root.img; kdump-utils squashes whenever mksquashfs is there).
 */
export function parseListing(text: string): ImageEntry[] {
  const out: ImageEntry[] = [];
  for (const line of text.split('\n')) {
    // -rw-r--r--   1 root     root       830876 Dec  3 17:59 usr/lib/pci-reset-agent/pci-reset-agent.mjs
    const m = /^-[rwxsStT-]{9}\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(.+)$/.exec(line);
    if (m) out.push({ path: m[2]!.replace(/^\.?\//, ''), bytes: Number(m[1]) });
  }
  for (const e of parseUnsquashListing(text)) if (e.kind === 'file') out.push({ path: e.name, bytes: e.size });
  return out;
}
