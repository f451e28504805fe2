/**
 * An I/O failure on one path, carrying the errno code so that callers can tell a vanished function
 * (ENOENT/ENODEV) from a refused write (EACCES/EPERM/EINVAL) and report it by name.
 */
export class AccessError extends Error {
  constructor(
    readonly code: string,
    readonly path: string,
    readonly detail?: string,
  ) {
    super(`${path}: ${detail ? `${detail}: ` : ''}${describe(code)}`);
    this.name = 'AccessError';
  }

  static from(err: unknown, path: string, detail?: string): AccessError {
    if (err instanceof AccessError) return err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
    return new AccessError(code, path, detail);
  }
}

const MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory (ENOENT)',
  ENOTDIR: 'not a directory (ENOTDIR)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  EIO: 'input/output error (EIO)',
  ENODEV: 'no such device (ENODEV)',
  EINVAL: 'invalid argument (EINVAL)',
  ENOTTY: 'inappropriate ioctl for device (ENOTTY)',
  EBUSY: 'device or resource busy (EBUSY)',
  ELOOP: 'too many levels of symbolic links (ELOOP)',
  EISDIR: 'is a directory (EISDIR)',
  EAGAIN: 'resource temporarily unavailable (EAGAIN)',
  EFTYPE: 'wrong kind of file (EFTYPE)',
  EFBIG: 'file too large (EFBIG)',
  EILSEQ: 'name is not valid UTF-8 (EILSEQ)',
  ENXIO: 'no reader or no such device (ENXIO)',
  EEXIST: 'file exists (EEXIST)',
};

function describe(code: string): string {
  return MESSAGES[code] ?? code;
}
