import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors/user-error.js';

/**
 * Make `--out DIR` ready for a snapshot: an empty directory, created one component at a time. Not
 * `mkdirSync({recursive: true})`: Node 20's recursive mkdir retries for good when mkdir(2) answers ENOENT
 * for a directory whose parent exists, which procfs and sysfs do (`--out /proc/nope` spun at 95 % CPU).
 * Every failure is one UserError naming the path and what is wrong.
 */
export function prepareOutDir(outDir: string): string {
  const out = path.resolve(outDir);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(out, { throwIfNoEntry: false });
  } catch (err) {
    throw new UserError(`--out ${outDir}: ${describe(err)}`);
  }
  if (st) {
    if (!st.isDirectory()) throw new UserError(`--out ${outDir}: exists and is not a directory`);
    let names: string[];
    try {
      names = fs.readdirSync(out);
    } catch (err) {
      throw new UserError(`--out ${outDir}: cannot list it: ${describe(err)}`);
    }
    if (names.length > 0) throw new UserError(`--out ${outDir}: exists and is not empty; refusing to write into it`);
    return out;
  }
  // The missing components, from the deepest existing ancestor down.
  const missing: string[] = [];
  let dir = out;
  for (;;) {
    const parent = path.dirname(dir);
    missing.push(dir);
    if (parent === dir) break;
    let pst: fs.Stats | undefined;
    try {
      pst = fs.statSync(parent, { throwIfNoEntry: false });
    } catch (err) {
      throw new UserError(`--out ${outDir}: ${parent}: ${describe(err)}`);
    }
    if (pst) {
      if (!pst.isDirectory()) throw new UserError(`--out ${outDir}: ${parent} is not a directory`);
      break;
    }
    dir = parent;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode: 0o755 });
    } catch (err) {
      throw new UserError(`--out ${outDir}: cannot create ${d}: ${describe(err)}`);
    }
  }
  return out;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const what: Record<string, string> = {
    ENOENT: 'no such file or directory, and this file system does not let one be made here',
    EACCES: 'permission denied',
    EROFS: 'read-only file system',
    ENOTDIR: 'a component of the path is not a directory',
    EEXIST: 'already exists',
    ENOSPC: 'no space left on device',
    ELOOP: 'too many levels of symbolic links',
  };
  return e.code ? `${what[e.code] ?? e.message} (${e.code})` : String(err);
}
