import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Root } from '../access/root.js';
import { PROC_FILE } from '../access/bounded-read.js';
import { MEASURED_CRASHKERNEL, RECOMMENDED_CRASHKERNEL_MIB, type MeasuredCrashkernel } from './measured.js';
import { listImage, type ImageEntry } from './image-listing.js';

/** Where kdump tools keep their capture image, {kver} being the running kernel's release. */
export const KDUMP_IMAGE_CANDIDATES = [
  '/var/lib/kdump/initrd.img-{kver}', // Debian/Ubuntu kdump-tools
  '/boot/initramfs-{kver}kdump.img', // Fedora/RHEL kdump-utils (mkdumprd)
  '/var/lib/kdump/initrd.img',
] as const;

/** What the agent puts into a kdump image (the dracut module and the initramfs-tools hook alike). */
export function isAgentFile(p: string): boolean {
  return (
    /^(usr\/)?lib\/pci-reset-agent\//.test(p) ||
    /^(usr\/)?libexec\/pci-reset-agent\//.test(p) ||
    /^etc\/pci-reset-agent\//.test(p) ||
    /^scripts\/init-top\/pci-reset-agent$/.test(p) ||
    /pci-reset-agent(-pre-udev\.sh|\.service)$/.test(p) ||
    /^(usr\/)?bin\/node$/.test(p)
  );
}

export interface Footprint {
  readonly source: 'image' | 'files';
  readonly image: { readonly path: string; readonly bytes: number; readonly lister: string } | null;
  readonly files: readonly ImageEntry[];
  readonly node: MeasuredCrashkernel['node'] | 'missing';
  readonly unpackedBytes: number;
  /** What the agent's files take compressed: node.squashfs as is (already compressed), the rest gzip -6. */
  readonly compressedBytes: number;
  readonly measured: MeasuredCrashkernel | null;
  readonly recommendedMiB: number;
  readonly reserved: { readonly cmdline: string | null; readonly bytes: number | null };
  readonly verdict: 'ok' | 'too-small' | 'none-reserved' | 'unknown';
  readonly notes: readonly string[];
}

const MiB = 1024 * 1024;

/** A small file under the root (proc, sysfs), resolved inside it now and read up to a page; null when unreadable. */
function readInRoot(root: Root, rel: string): string | null {
  try {
    return root.readText(rel, PROC_FILE);
  } catch {
    return null;
  }
}

/**
 * The host path of `rel` resolved inside the root (links followed only as far as the root), or null when
 * it does not exist there: what the distribution's lister and the size reads are given.
 */
function hostPathInRoot(root: Root, rel: string): string | null {
  return root.exists(rel) ? root.resolve(rel) : null;
}

/** How node is in the image, from its files. */
function nodeKind(files: readonly ImageEntry[], squashComp: string | null): Footprint['node'] {
  // Only an xz superblock read from a host copy says xz. Unknown (the initramfs-tools hook builds node.squashfs
  // in a temporary directory: no host copy) is the hook's and module's default, zstd, which also needs the
  // larger crashkernel= of the two: the Debian e2e's zstd image was reported as xz, quoting 160M for 176M.
  if (files.some((f) => f.path.endsWith('pci-reset-agent/node.squashfs'))) return squashComp === 'xz' ? 'squashfs-xz' : 'squashfs-zstd';
  if (files.some((f) => /(^|\/)bin\/node$/.test(f.path))) return 'plain';
  return 'missing';
}

/** The compressor of a squashfs image (superblock at 0: magic "hsqs", compression id at byte 20). */
function squashfsCompressor(file: string): string | null {
  try {
    const fd = fs.openSync(file, 'r');
    const b = Buffer.alloc(24);
    fs.readSync(fd, b, 0, 24, 0);
    fs.closeSync(fd);
    if (b.toString('latin1', 0, 4) !== 'hsqs') return null;
    return ({ 1: 'gzip', 2: 'lzma', 3: 'lzo', 4: 'xz', 5: 'lz4', 6: 'zstd' } as Record<number, string>)[b.readUInt16LE(20)] ?? null;
  } catch {
    return null;
  }
}

export interface FootprintOptions {
  readonly root: string;
  /** The kdump image; by default the first of KDUMP_IMAGE_CANDIDATES that exists. */
  readonly image?: string;
  /** The agent's installed directory on the host (for the compressed estimate). */
  readonly libdir?: string;
}

export function footprint(opts: FootprintOptions): Footprint {
  // Every path of the machine is resolved inside --root (src/access/root.ts), as every other command does:
  // a link in a mock or captured tree never leads to the host's files. --image names a host file itself.
  const root = new Root(opts.root);
  const kver = (readInRoot(root, 'proc/sys/kernel/osrelease') ?? '').trim();
  const notes: string[] = [];
  const candidates = opts.image !== undefined ? [opts.image] : KDUMP_IMAGE_CANDIDATES.map((c) => c.replace('{kver}', kver));
  const imagePath =
    opts.image !== undefined ? (fs.existsSync(opts.image) ? opts.image : undefined) : candidates.map((c) => hostPathInRoot(root, c)).find((p) => p !== null) ?? undefined;
  // The agent's files as installed on that machine (each resolved inside the root), or under opts.libdir.
  const libFile = (name: string): string | null => {
    if (opts.libdir === undefined) return hostPathInRoot(root, `usr/lib/pci-reset-agent/${name}`);
    const p = path.join(opts.libdir, name);
    return fs.existsSync(p) ? p : null;
  };
  let files: ImageEntry[] = [];
  let image: Footprint['image'] = null;
  if (imagePath !== undefined) {
    const listing = listImage(imagePath);
    if (listing === null) notes.push(`cannot list ${imagePath}: neither lsinitramfs nor lsinitrd runs here; counted the files the hook would add`);
    else {
      // Shown as the path inside the root (what the admin of that system would type).
      const shown = opts.image === undefined && root.dir !== '/' ? `/${path.relative(root.dir, imagePath)}` : imagePath;
      image = { path: shown, bytes: fs.statSync(imagePath).size, lister: listing.lister };
      files = listing.entries.filter((e) => isAgentFile(e.path));
      if (files.length === 0) notes.push(`${imagePath} holds no pci-reset-agent files: rebuild it (docs/kdump.md)`);
    }
  } else {
    const shownCandidates = opts.image !== undefined ? candidates : candidates.map((c) => path.join(root.dir, c));
    notes.push(`no kdump image found (${shownCandidates.join(', ')}); counted the files the hook would add`);
  }
  if (image === null) {
    // The files the hook or module adds, as installed on the host (node.squashfs is built with the image).
    for (const f of ['pci-reset-agent.mjs', 'koffi.node']) {
      const p = libFile(f);
      if (p !== null) files.push({ path: `usr/lib/pci-reset-agent/${f}`, bytes: fs.statSync(p).size });
    }
    notes.push('node.squashfs is made when the image is built (30.2 MB measured for node v20.20.2 with the default zstd, 26.4 MB with xz); not counted');
  }
  const unpackedBytes = files.reduce((s, f) => s + f.bytes, 0);
  // Compressed: the squashfs is already compressed; the rest as gzip -6 would take it, read from the host copies.
  let compressedBytes = 0;
  for (const f of files) {
    const host = libFile(path.basename(f.path));
    if (f.path.endsWith('node.squashfs')) compressedBytes += f.bytes;
    else if (/pci-reset-agent\/(pci-reset-agent\.mjs|koffi\.node)$/.test(f.path) && host !== null) {
      compressedBytes += zlib.gzipSync(fs.readFileSync(host), { level: 6 }).length;
    } else compressedBytes += Math.round(f.bytes * 0.4);
  }
  const squashHost = libFile('node.squashfs');
  // Without an image, the module's and hook's default: node in a zstd squashfs (PCI_RESET_AGENT_SQUASH_COMP).
  const node = image === null ? 'squashfs-zstd' : nodeKind(files, squashHost !== null ? squashfsCompressor(squashHost) : null);
  const measured = MEASURED_CRASHKERNEL.find((m) => m.node === node) ?? null;
  const cmdline = readInRoot(root, 'proc/cmdline');
  const ck = cmdline !== null ? (/(?:^|\s)(crashkernel=\S+)/.exec(cmdline)?.[1] ?? null) : null;
  const sizeText = readInRoot(root, 'sys/kernel/kexec_crash_size');
  const reservedBytes = sizeText !== null && /^\d+\s*$/.test(sizeText) ? Number(sizeText.trim()) : null;
  let verdict: Footprint['verdict'] = 'unknown';
  if (reservedBytes === 0 || (reservedBytes === null && ck === null && cmdline !== null)) verdict = 'none-reserved';
  else if (reservedBytes !== null && measured !== null) verdict = reservedBytes >= measured.worksMiB * MiB ? 'ok' : 'too-small';
  return {
    source: image ? 'image' : 'files',
    image,
    files,
    node,
    unpackedBytes,
    compressedBytes,
    measured,
    recommendedMiB: RECOMMENDED_CRASHKERNEL_MIB,
    reserved: { cmdline: ck, bytes: reservedBytes },
    verdict,
    notes,
  };
}

const mb = (n: number) => `${(n / MiB).toFixed(1)} MB`;

/** The human report, within 80 columns. */
export function renderFootprint(f: Footprint): string {
  const lines: string[] = [];
  if (f.image) lines.push('kdump image:', `  ${f.image.path}`, `  ${mb(f.image.bytes)}, listed with ${f.image.lister}`);
  else lines.push('kdump image: none read (files the hook would add)');
  lines.push('what pci-reset-agent adds:');
  for (const x of f.files) lines.push(`  ${mb(x.bytes).padStart(9)}  /${x.path}`.slice(0, 80));
  lines.push(`  ${mb(f.unpackedBytes).padStart(9)}  unpacked in total`);
  lines.push(`  ${mb(f.compressedBytes).padStart(9)}  compressed (node.squashfs as is, the rest gzip -6)`);
  lines.push(`node in the image: ${f.node}`);
  if (f.measured) {
    lines.push(`crashkernel= measured to work: ${f.measured.worksMiB}M (${f.measured.failsMiB}M failed: ${f.measured.failure})`);
    lines.push(`  (e2e capture run under QEMU; docs/kdump.md recommends ${f.recommendedMiB}M for margin)`);
  }
  const reserved = f.reserved.bytes !== null ? `${(f.reserved.bytes / MiB).toFixed(0)}M reserved` : 'reservation unknown';
  lines.push(`this kernel: ${f.reserved.cmdline ?? 'no crashkernel= on the command line'}, ${reserved}: ${f.verdict}`);
  for (const n of f.notes) lines.push(`note: ${n}`);
  return `${lines.flatMap((l) => wrap(l)).join('\n')}\n`;
}

/** Words onto lines of at most 80 columns, continuation lines indented (a long path stays whole). */
function wrap(text: string, width = 80): string[] {
  if (text.length <= width) return [text];
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = `  ${word}`;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}
