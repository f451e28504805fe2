import { Root } from './root.js';
import { SysfsAccess } from './sysfs.js';
import { AccessError } from './access-error.js';
import { UserError } from '../errors/user-error.js';

/** Open `--root` for reading; a missing root is one clear error line. */
export function openRoot(dir: string): { root: Root; access: SysfsAccess } {
  try {
    const root = new Root(dir);
    return { root, access: new SysfsAccess(root) };
  } catch (err) {
    if (err instanceof AccessError) throw new UserError(`--root ${dir}: ${err.code === 'ENOENT' ? 'does not exist' : err.message}`);
    throw err;
  }
}
