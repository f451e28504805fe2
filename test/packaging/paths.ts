import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

/** The project directory (tests run from anywhere). */
export const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MODULE_DIR = path.join(PROJECT, 'systemd/dracut/95pci-reset-agent');
export const UNIT = path.join(PROJECT, 'systemd/pci-reset-agent.service');

/** Whether a command can be run here (for tools CI installs but a developer's machine may lack). */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
