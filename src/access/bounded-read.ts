import * as fs from 'node:fs';
import { AccessError } from './access-error.js';

/**
 * What may be read from a file of each kind: a FIFO, a character device or a 1 GB file in place of a
 * sysfs attribute must neither hang the agent nor fill a capture kernel's ~100 MB of memory. Every open
 * for reading is non-blocking (a FIFO opens at once and is then refused), every file must be a regular
 * file (or the one character device a kind allows), and no read goes past the kind's cap.
 */
export interface ReadKind {
  /** Names the kind in messages (`sysfs attribute`). */
  what: string;
  /** Most bytes a file of this kind can hold; a longer one is refused (EFBIG), not cut. */
  max: number;
  /** The character device this kind must be instead of a regular file (`/dev/kmsg`: 1, 11). */
  charDevice?: { major: number; minor: number };
}

/** A sysfs attribute is at most one page: sysfs_kf_seq_show() hands show() a PAGE_SIZE buffer (fs/sysfs/file.c:60). */
export const SYSFS_ATTRIBUTE: ReadKind = { what: 'sysfs attribute', max: 4096 };
/** PCIe extended config space ends at 4 KiB (PCI_CFG_SPACE_EXP_SIZE, include/uapi/linux/pci_regs.h:27). */
export const CONFIG_SPACE: ReadKind = { what: 'PCI config space', max: 4096 };
/** /proc/cmdline, osrelease, version: a page (COMMAND_LINE_SIZE is 2048 on x86 and arm64, 4096 at most). */
export const PROC_FILE: ReadKind = { what: 'proc file', max: 4096 };
/** The agent's own lock file holds a PID and a newline. */
export const LOCK_CONTENT: ReadKind = { what: 'lock file', max: 64 };
/**
 * An ACPI table: its header's Length field says how long it is (ACPI 6.5 §5.2.6); no DMAR or IVRS comes
 * near 1 MiB (a DRHD is 16 bytes plus scopes; the kernel maps the whole table, drivers/acpi/tables.c).
 */
export const ACPI_TABLE: ReadKind = { what: 'ACPI table', max: 1 << 20 };
/**
 * A kernel log saved to a file, or a mock `dev/kmsg`: 16 MiB, half again the largest printk buffer
 * (CONFIG_LOG_BUF_SHIFT at most 25: 32 MiB of records, whose text is about half of it).
 */
export const KMSG_FILE: ReadKind = { what: 'kernel log', max: 16 << 20 };
/** The kernel's log device (drivers/char/mem.c devlist: minor 11 of MEM_MAJOR 1). */
export const KMSG_DEVICE: ReadKind = { what: 'kernel log device /dev/kmsg', max: Infinity, charDevice: { major: 1, minor: 11 } };
/** Physical memory (drivers/char/mem.c devlist: minor 1 of MEM_MAJOR 1). */
export const MEM_DEVICE: ReadKind = { what: 'memory device /dev/mem', max: Infinity, charDevice: { major: 1, minor: 1 } };
/**
 * Anything else read whole: 8 MiB, enough for the largest inputs outside the kdump path (a distribution
 * kernel's modules.builtin.modinfo is about 1 MiB, /proc/cpuinfo of a 512-CPU machine about 1.5 MiB) and
 * still a bound. Readers on the kdump path pass their own, smaller kind.
 */
export const SMALL_FILE: ReadKind = { what: 'file', max: 8 << 20 };

export interface FileKind {
  mode: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

const TYPE_NAMES: Record<number, string> = {
  0o140000: 'a socket',
  0o120000: 'a symbolic link',
  0o060000: 'a block device',
  0o040000: 'a directory',
  0o020000: 'a character device',
  0o010000: 'a FIFO',
};

/**
 * Check an open file is what `kind` reads (regular, or its character device) and not over its cap by
 * its size; throws AccessError (EFTYPE, EFBIG) naming `label`.
 */
export function checkKind(st: FileKind, label: string, kind: ReadKind): void {
  const type = st.mode & S_IFMT;
  if (kind.charDevice) {
    const want = kind.charDevice;
    if (type === S_IFCHR && st.rdevMajor === want.major && st.rdevMinor === want.minor) return;
    const is = type === S_IFCHR ? `a character device ${st.rdevMajor}:${st.rdevMinor}` : (TYPE_NAMES[type] ?? 'a regular file');
    throw new AccessError('EFTYPE', label, `${is}, not the ${kind.what} (character device ${want.major}:${want.minor}): refused`);
  }
  if (type === 0o040000) throw new AccessError('EISDIR', label, `a directory, not a regular file (a ${kind.what} must be one): refused`);
  if (type !== S_IFREG) {
    const is = type === S_IFCHR ? `a character device ${st.rdevMajor}:${st.rdevMinor}` : (TYPE_NAMES[type] ?? `file type 0o${type.toString(8)}`);
    throw new AccessError('EFTYPE', label, `${is}, not a regular file (a ${kind.what} must be one): refused`);
  }
  if (st.size > kind.max) throw new AccessError('EFBIG', label, `${st.size} bytes, more than a ${kind.what} can hold (${kind.max}): refused`);
}

/**
 * Read at most `kind.max` bytes from an fd already checked by checkKind; one byte more means the file
 * grew past its cap (procfs files report size 0), which is refused too. `buf` is scratch space.
 */
export function readCapped(fd: number, label: string, kind: ReadKind, buf?: Buffer): Buffer {
  const cap = kind.max;
  const scratch = buf && buf.length > cap ? buf : Buffer.allocUnsafe(Math.min(cap + 1, 65536));
  let n = fs.readSync(fd, scratch, 0, Math.min(scratch.length, cap + 1), null);
  if (n < scratch.length && n <= cap) return Buffer.from(scratch.subarray(0, n));
  const chunks = [Buffer.from(scratch.subarray(0, n))];
  let total = n;
  while (total <= cap && (n = fs.readSync(fd, scratch, 0, Math.min(scratch.length, cap + 1 - total), null)) > 0) {
    chunks.push(Buffer.from(scratch.subarray(0, n)));
    total += n;
  }
  if (total > cap) throw new AccessError('EFBIG', label, `more than a ${kind.what} can hold (${cap} bytes): refused`);
  return Buffer.concat(chunks, total);
}

/**
 * A file named on the command line (`--kmsg FILE`, `--old-log FILE`): outside any root, but read with the
 * same rules (non-blocking, regular only, capped), so a FIFO or /dev/zero given by mistake is refused.
 */
export function readHostFile(path: string, kind: ReadKind): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (err) {
    throw AccessError.from(err, path);
  }
  try {
    const st = fs.fstatSync(fd);
    const rdev = st.rdev;
    checkKind({ mode: st.mode, size: st.size, rdevMajor: (rdev >> 8) & 0xfff, rdevMinor: (rdev & 0xff) | ((rdev >> 12) & ~0xff) }, path, kind);
    return readCapped(fd, path, kind);
  } catch (err) {
    throw AccessError.from(err, path);
  } finally {
    fs.closeSync(fd);
  }
}
