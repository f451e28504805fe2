import type { Command } from 'commander';
import { DEFAULT_DEADLINE_MS, DEFAULT_READY_TIMEOUT_MS, runApply, type ApplyOptions } from '../../apply/run-apply.js';
import { EXIT } from '../exit-codes.js';
import { CliError } from '../fail.js';
import { addPlanOptions } from './plan-inputs.js';

const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').filter((v) => v !== '')];

function milliseconds(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || parseInt(v, 10) <= 0) throw new CliError(`${name} ${v}: a positive number of milliseconds`, EXIT.USAGE);
    return parseInt(v, 10);
  };
}

export function registerApply(program: Command): void {
  addPlanOptions(
    program
      .command('apply')
      .description('plan, then reset: in a capture kernel every planned step; on a live system nothing unless --allow-live'),
  )
    .option('--deadline <ms>', `stop starting steps and abandon what is left after this long (default ${DEFAULT_DEADLINE_MS}, sized for a kdump boot)`, milliseconds('--deadline'), DEFAULT_DEADLINE_MS)
    .option('--ready-timeout <ms>', `give up on one function that does not answer this long after its mandated wait (default ${DEFAULT_READY_TIMEOUT_MS})`, milliseconds('--ready-timeout'), DEFAULT_READY_TIMEOUT_MS)
    .option('--allow-live', 'on a live system (no capture-kernel evidence) reset functions that have no driver bound')
    .option('--force <bdf>', 'with --allow-live, reset this function even with a driver bound (repeatable, or comma-separated)', collect, [])
    .option('--simulate', "rehearse against a simulator loaded from the root's tree: nothing is written anywhere")
    .option('--virtual-time', 'with --simulate: do not wait in real time (durations are still what a real run would take)')
    .option('--assume-capture-kernel', 'with --simulate: rehearse a kdump run on a tree without capture-kernel evidence')
    .action(async (opts: ApplyOptions) => {
      process.exitCode = await runApply(opts, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
    });
}
