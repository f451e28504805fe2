import * as fs from 'node:fs';

/** /dev/kmsg is character device 1:11 (drivers/char/mem.c, devlist[]: `[11] = { "kmsg", … }`). */
export const KMSG_DEVICE = { major: 1, minor: 11 };

/** Major and minor of a Linux dev_t as stat(2) gives it (glibc's gnu_dev_major/gnu_dev_minor). */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * Open the kernel log for writing, and only the kernel log: the path's last component is never followed
 * (O_NOFOLLOW), the open never waits (O_NONBLOCK: a FIFO without a reader answers ENXIO instead of
 * hanging), and the opened file must be the character device `expect` (1, 11). A link to a function's
 * `config`, a regular file or a FIFO planted at ROOT/dev/kmsg is refused. Returns the descriptor, or the
 * problem as a sentence naming the path.
 */
export function openKernelLog(path: string, expect = KMSG_DEVICE): number | string {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW | fs.constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'a symbolic link, not the kernel log' : code === 'ENXIO' ? 'a FIFO without a reader, not the kernel log' : 'cannot open for writing';
    return `${path}: ${why} (${code})`;
  }
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    return `${path}: cannot stat (${(err as NodeJS.ErrnoException).code})`;
  }
  const { major, minor } = devNumbers(st.rdev);
  if (st.isCharacterDevice() && major === expect.major && minor === expect.minor) return fd;
  fs.closeSync(fd);
  const kind = st.isCharacterDevice() ? `character device ${major}:${minor}` : st.isFile() ? 'a regular file' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a device';
  return `${path}: ${kind}, not the kernel log (character device ${expect.major}:${expect.minor}); nothing written to it`;
}
