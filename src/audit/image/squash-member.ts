/**
 * dracut's squash modules put all of a kdump image's files, the agent and the kernel modules included,
 * into one filesystem image inside the cpio and keep only a small loader beside it. kdump-utils' mkdumprd
 * asks for it whenever mksquashfs is installed (`--add squash` up to dracut 103, `squash-squashfs` or
 * `squash-erofs` since 104), so on Fedora and RHEL it is the usual case. dracut 059 writes
 * `squash-root.img` (dracut.sh: squash_img="$initdir/squash-root.img"); dracut-ng's squash-squashfs
 * writes `squashfs-root.img` and squash-erofs `erofs-root.img`.
 *
 * A squashfs member is read with squashfs-tools' own unsquashfs (a Depends of the package: the image
 * builders need mksquashfs anyway), as lsinitrd lists it: `-lls` for the names, `-d DIR` for the few
 * files the audit reads. What cannot be read is an error naming the member, never "not in the image".
 * The member is copied to a private temporary directory (mode 0700) for unsquashfs and removed before
 * this returns: the one write `audit` makes besides its --prometheus file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CpioEntry, CpioKind } from './cpio.js';
import { ImageError } from './image-error.js';

/** Members of the cpio that hold the image's root (the basename, at any depth). */
export const SQUASH_MEMBER = /(^|\/)(squash-root|squashfs-root)\.img$/;
export const EROFS_MEMBER = /(^|\/)erofs-root\.img$/;

/** unsquashfs runs on the host for at most this long per call. */
const TIMEOUT_MS = 120_000;

export interface SquashContents {
  entries: CpioEntry[];
  files: Map<string, Buffer>;
}

/** Entries of a squashfs member and the data of those `want` selects. */
export function readSquashMember(member: string, data: Buffer, label: string, want: (e: CpioEntry) => boolean, maxFileBytes: number): SquashContents {
  const where = `${label}: ${member}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-squash-'));
  try {
    const img = path.join(dir, 'root.img');
    fs.writeFileSync(img, data, { mode: 0o600 });
    const list = unsquashfs(['-no-progress', '-lls', img], where);
    const entries = parseUnsquashListing(list);
    const wanted = entries.filter((e) => e.kind === 'file' && want(e));
    // Sizes from the listing are what unsquashfs would write: a hostile member cannot fill the disk first.
    const big = wanted.find((e) => e.size > maxFileBytes);
    if (big) throw new ImageError(`${where}: ${big.name} is ${big.size} bytes, more than the ${maxFileBytes} read of one file`);
    const files = new Map<string, Buffer>();
    if (wanted.length > 0) {
      const out = path.join(dir, 'x');
      unsquashfs(['-no-progress', '-f', '-d', out, img, ...wanted.map((e) => `/${e.name}`)], where);
      for (const e of wanted) {
        const p = path.join(out, e.name);
        const st = fs.lstatSync(p, { throwIfNoEntry: false });
        if (!st?.isFile()) throw new ImageError(`${where}: ${e.name} is listed but unsquashfs did not extract it`);
        if (st.size > maxFileBytes) throw new ImageError(`${where}: ${e.name} is ${st.size} bytes, more than the ${maxFileBytes} read of one file`);
        files.set(e.name, fs.readFileSync(p));
      }
    }
    return { entries, files };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function unsquashfs(args: string[], where: string): string {
  const r = spawnSync('unsquashfs', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: TIMEOUT_MS });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new ImageError(`${where}: the image's files are inside it and unsquashfs ${code === 'ENOENT' ? 'is not installed (package squashfs-tools)' : `failed: ${r.error.message}`}`);
  }
  if (r.status !== 0) throw new ImageError(`${where}: unsquashfs exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? ''}`);
  return r.stdout;
}

const KIND: Record<string, CpioKind> = { '-': 'file', d: 'dir', l: 'symlink' };

/**
 * unsquashfs `-lls` (and `-ll`, as lsinitrd prints it) lines, squashfs-tools 4.4–4.6:
 * `-rw-r--r-- root/root   830876 2026-12-03 17:59 squashfs-root/usr/lib/pci-reset-agent/pci-reset-agent.mjs`;
 * a link ends ` -> target`; devices show `major,minor` where the size is. Names lose the
 * `squashfs-root` prefix (the image's root); the root itself is left out.
 */
export function parseUnsquashListing(text: string): CpioEntry[] {
  const out: CpioEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([-dlcbps])([rwxsStT-]{9})\s+\S+\s+(\d+|\d+,\s*\d+)\s+\d{4}-\d\d-\d\d \d\d:\d\d squashfs-root(\/.*)?$/.exec(line);
    if (!m || m[4] === undefined) continue;
    let name = m[4].slice(1);
    if (m[1] === 'l') name = name.replace(/ -> .*$/, '');
    out.push({ name, kind: KIND[m[1]!] ?? 'other', mode: 0, size: /^\d+$/.test(m[3]!) ? Number(m[3]) : 0, offset: 0 });
  }
  return out;
}
