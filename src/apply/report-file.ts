import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { Root } from '../access/root.js';
import { writeAll } from '../access/dir-ops.js';
import { openRunDir, RUN_DIR } from './lock.js';

const REPORT_NAME = 'report.json';

/**
 * ROOT/run/pci-reset-agent/report.json, written aside and renamed so a reader never sees half of it.
 * The aside file has an unguessable name and is created O_CREAT|O_EXCL|O_NOFOLLOW in the run directory
 * opened by fd: a link planted under any name there, or the run directory swapped for a link after the
 * run began, cannot send the report outside the root. rename(2) replaces a link named report.json
 * itself, never its target. Returns the report's path (as named under the root).
 */
export function writeReportFile(root: Root, text: string): string {
  const dir = openRunDir(root);
  try {
    const tmp = `${REPORT_NAME}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
    const fd = dir.createExclusive(tmp, 0o644);
    try {
      try {
        writeAll(fd, Buffer.from(text));
      } finally {
        fs.closeSync(fd);
      }
      dir.rename(tmp, REPORT_NAME);
    } catch (err) {
      try {
        dir.unlink(tmp);
      } catch {
        // Renamed already, or never written.
      }
      throw err;
    }
  } finally {
    dir.close();
  }
  return root.lexical(`${RUN_DIR}/${REPORT_NAME}`);
}
