import type { Command } from 'commander';
import { DEFAULT_WAVE_SIZE } from '../../plan/waves.js';
import { NUMERIC_FLAGS, NUMERIC_HELP } from '../naming.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The options of the plan inputs (src/pipeline/gather-plan-inputs.ts) that `plan`, `explain`, `audit` and `apply` share. */
export function addPlanOptions(cmd: Command): Command {
  return cmd
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--quirks <file>', 'read this quirk table after the default and admin tables (repeatable)', collect, [])
    .option('--only <selector>', 'plan only these: BDF, vendor:device (8086:1572, 8086:*) or class=CC[SS] (repeatable, or comma-separated)', collect, [])
    .option('--exclude <selector>', 'never touch these, nor any bus reset that would reach them (repeatable, or comma-separated)', collect, [])
    .option('--all', 'reset in IOMMU case 1 too (stray DMA is harmless there, so nothing is reset by default)')
    .option('--wave-size <n>', 'most steps in one wave that reset through the kernel (each holds a thread); 4 times as many in all (steps of a wave may run at the same time)', String(DEFAULT_WAVE_SIZE))
    .option('--json', 'print the machine-readable document (schema in docs/json.md)')
    .option(NUMERIC_FLAGS, NUMERIC_HELP)
    .option('--kmsg <file>', 'read this kernel log instead of ROOT/dev/kmsg (IOMMU verdict)')
    .option('--old-log <file>', 'read this file as the crashed kernel\'s log (IOMMU verdict)')
    .option('--no-registers', 'do not read IOMMU registers through /dev/mem (IOMMU verdict)');
}

