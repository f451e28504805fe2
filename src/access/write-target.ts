import { AccessError } from './access-error.js';
import { checkKind, type FileKind, type ReadKind } from './bounded-read.js';

/**
 * A file we are about to write (a sysfs attribute, config space): the kind checkKind() wants, and one
 * name only. A hard link is not a symlink: O_NOFOLLOW and RESOLVE_IN_ROOT see nothing, yet a second name
 * planted in a mock root or on tmpfs makes the write land in a file outside the root. sysfs itself cannot
 * hold hard links (kernfs has no link()), so a real attribute always has st_nlink 1.
 */
export function checkWriteTarget(st: FileKind & { nlink: number }, label: string, kind: ReadKind): void {
  checkKind(st, label, kind);
  if (st.nlink > 1) throw new AccessError('EMLINK', label, `a file with ${st.nlink} hard links: another name, maybe outside the root, reaches it; not written through`);
}
