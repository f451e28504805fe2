import { Root } from '../access/root.js';
import { SysfsAccess } from '../access/sysfs.js';
import { AccessError } from '../access/access-error.js';
import { CliError } from './fail.js';

/** Open `--root` for reading; a missing root is one clear error line. */
export function openRoot(dir: string): { root: Root; access: SysfsAccess } {
  try {
    const root = new Root(dir);
    return { root, access: new SysfsAccess(root) };
  } catch (err) {
    if (err instanceof AccessError) throw new CliError(`--root ${dir}: ${err.code === 'ENOENT' ? 'does not exist' : err.message}`);
    throw err;
  }
}
