import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * A directory whose files' writes sleep in the kernel, uninterruptibly, until thawed: its content is moved
 * onto an ext4 image mounted in its place, and the file system is frozen (FIFREEZE: writers wait in
 * sb_start_write(), fs/super.c). The regular files stay regular files, so the agent's checks accept them,
 * as they accept a function's `reset` that sleeps in pci_dev_wait(). Needs root, mkfs.ext4, loop devices
 * and fsfreeze; `skip` with the reason when any is missing. thaw() undoes it all.
 */
export function freezeDir(dir: string): { thaw: () => void } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'not root' };
  const img = `${dir}.img`;
  const stage = `${dir}.stage`;
  const run = (cmd: string, args: string[]): string | null => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? null : `${cmd}: ${(r.stderr || r.error?.message || `status ${r.status}`).trim()}`;
  };
  let mounted = false;
  const thaw = (): void => {
    spawnSync('fsfreeze', ['-u', dir]);
    if (mounted) spawnSync('umount', ['-l', dir]);
    fs.rmSync(img, { force: true });
  };
  const steps: (() => string | null)[] = [
    () => run('truncate', ['-s', '8M', img]),
    () => run('mkfs.ext4', ['-q', '-F', img]),
    () => (fs.mkdirSync(stage), null),
    () => run('mount', ['-o', 'loop', img, stage]),
    () => run('cp', ['-a', `${dir}/.`, stage]),
    () => run('umount', [stage]),
    () => (fs.rmdirSync(stage), null),
    () => run('mount', ['-o', 'loop', img, dir]),
    () => ((mounted = true), null),
    () => run('fsfreeze', ['-f', dir]),
  ];
  let fail: string | null = null;
  for (const step of steps) if ((fail = step()) !== null) break;
  if (fail !== null) {
    spawnSync('umount', ['-l', stage]);
    fs.rmSync(stage, { recursive: true, force: true });
    thaw();
    return { skip: fail };
  }
  return { thaw };
}
