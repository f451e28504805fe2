import type { Command } from 'commander';
import { DEFAULT_DEADLINE_MS, DEFAULT_READY_TIMEOUT_MS, runApply, type ApplyOptions } from '../../apply/run-apply.js';
import type { LogFormat } from '../../apply/log.js';
import { EXIT } from '../../errors/exit-codes.js';
import { UserError } from '../../errors/user-error.js';
import { addPlanOptions } from './plan-options.js';

const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').filter((v) => v !== '')];

function milliseconds(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || parseInt(v, 10) <= 0) throw new UserError(`${name} ${v}: a positive number of milliseconds`, EXIT.USAGE);
    return parseInt(v, 10);
  };
}

function logFormat(v: string): LogFormat {
  if (v !== 'text' && v !== 'json') throw new UserError(`--log-format ${v}: text or json`, EXIT.USAGE);
  return v;
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

function logLevel(v: string): string {
  if (!LEVELS.includes(v)) throw new UserError(`--log-level ${v}: one of ${LEVELS.join(', ')}`, EXIT.USAGE);
  return v;
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
    .option('--log-format <format>', 'events on stderr as text or json (default: text on a terminal, json otherwise)', logFormat)
    .option('--log-level <level>', 'least level of event shown: debug, info, warn, error or silent (default info)', logLevel)
    .option('--quiet', 'show only errors (the same as --log-level error)')
    .option('--log-kmsg', 'copy events to the kernel log (ROOT/dev/kmsg) even without capture-kernel evidence')
    .action(async (opts: ApplyOptions & { quiet?: boolean }) => {
      const run: ApplyOptions = {
        ...opts,
        logFormat: opts.logFormat ?? (process.stderr.isTTY ? 'text' : 'json'),
        logLevel: opts.logLevel ?? (opts.quiet ? 'error' : 'info'),
      };
      process.exitCode = await runApply(run, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
    });
}
