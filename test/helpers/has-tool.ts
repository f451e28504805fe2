import { execFileSync } from 'node:child_process';

/** Whether `tool --version` runs here (tests that need xz, zstd, … skip visibly without it). */
export function hasTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
