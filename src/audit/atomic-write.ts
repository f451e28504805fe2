/**
 * Replace a file atomically, as node_exporter's textfile collector needs (it may read at any moment):
 * write a temporary file in the same directory, created with O_CREAT|O_EXCL|O_NOFOLLOW so that nothing
 * planted at that name (a symlink into /etc) is followed or reused, fsync it, then rename() it over the
 * target. rename() replaces a symlink at the target itself, never what it points to.
 * Minimal on purpose; a shared safe-create API in src/access would replace the open below.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function writeFileAtomic(target: string, content: string, mode = 0o644): void {
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  let renamed = false;
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, target);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
      fs.rmSync(tmp, { force: true });
    }
  }
}
