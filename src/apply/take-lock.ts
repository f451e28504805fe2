import type { Root } from '../access/root.js';
import { acquireLock, type LockHandle, type LockOptions } from './lock.js';
import { acquireLockWithoutFlock } from './lock-without-flock.js';

/**
 * The apply lock, by the best means here: flock(2) on apply.lock where koffi loads (lock.ts), else the
 * root's abstract socket name (lock-without-flock.ts). Both are released by the kernel when the holder
 * dies, so a stale lock is never taken over by a racy unlink-and-create.
 */
export function takeLock(root: Root, opts: LockOptions = {}): Promise<LockHandle> {
  if (root.fsAt) {
    try {
      return Promise.resolve(acquireLock(root, opts));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return acquireLockWithoutFlock(root, opts);
}
