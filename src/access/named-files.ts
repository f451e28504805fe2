import * as fs from 'node:fs';
import { AccessError } from './access-error.js';
import { UserError } from '../errors/user-error.js';

/**
 * A file the user named on the command line (`--kmsg FILE`, `--old-log FILE`) must exist and be a
 * regular file: reading the verdict without it would quietly answer a different question. (A kernel
 * log found under the root is different: its absence is evidence handled by the assessor.)
 */
export function requireNamedFiles(files: Record<string, string | undefined>): void {
  for (const [option, file] of Object.entries(files)) {
    if (file === undefined) continue;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (err) {
      throw new UserError(`${option} ${AccessError.from(err, file).message}`);
    }
    if (st.isDirectory()) throw new UserError(`${option} ${file}: is a directory, not a log file`);
  }
}
