import { Command, CommanderError, Help, type Option } from 'commander';
import { EXIT } from '../errors/exit-codes.js';
import { reportError } from './fail.js';

type Register = (program: Command) => void;

/**
 * Each command's module, imported only when that command runs: `scan` then never loads the planner,
 * the IOMMU assessor or pino, which is a good part of the agent's start-up time (bench/scan.ts).
 * Listed in the order `--help` shows them.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  scan: async () => (await import('./commands/scan.js')).registerScan,
  capture: async () => (await import('./commands/capture.js')).registerCapture,
  mock: async () => (await import('./commands/mock.js')).registerMock,
  iommu: async () => (await import('./commands/iommu.js')).registerIommu,
  plan: async () => (await import('./commands/plan.js')).registerPlan,
  explain: async () => (await import('./commands/explain.js')).registerExplain,
  quirks: async () => (await import('./commands/quirks.js')).registerQuirks,
  apply: async () => (await import('./commands/apply.js')).registerApply,
  footprint: async () => (await import('./commands/footprint.js')).registerFootprint,
  audit: async () => (await import('./commands/audit.js')).registerAudit,
};

/**
 * Commander prints `(default: …)` after every option with a default value. Descriptions that already
 * say their default (`--deadline`) would show it twice, and the empty list of a repeatable option says
 * nothing: both are left out.
 */
function optionDescription(this: Help, option: Option): string {
  const own = option.description;
  const silent = /\(default\b/.test(own) || (Array.isArray(option.defaultValue) && option.defaultValue.length === 0);
  return silent ? own : Help.prototype.optionDescription.call(this, option);
}

/** A usage mistake is one line and a hint, never the whole help (the convention of git, systemctl, ip). */
function hintOnError(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(see: ${path} --help)`);
  for (const sub of cmd.commands) hintOnError(sub, `${path} ${sub.name()}`);
}

/** The program with every command, or with only `command` when that names one (what a run needs). */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command();
  program
    .name('pci-reset-agent')
    .description('Stop stale DMA before a crash-dump kernel\'s drivers wake up: scan PCI, judge the IOMMU, plan and perform resets.')
    .version('0.1.0')
    .exitOverride()
    .configureHelp({ optionDescription });
  const names = command !== undefined && Object.hasOwn(COMMANDS, command) ? [command] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((n) => COMMANDS[n]!()))) register(program);
  hintOnError(program, 'pci-reset-agent');
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // The first word is the command; help, --version and mistakes get the whole program.
    const program = await buildProgram(argv[0]);
    if (argv.length === 0) {
      // No command at all: the help is what was asked for, so it goes to stdout with success.
      process.stdout.write(program.helpInformation());
      return EXIT.OK;
    }
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is a usage error.
      // `help scan` is a success; `quirks` with no subcommand (its help on stderr) is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
      if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return EXIT.USAGE;
    }
    const status = reportError(err);
    // A usage error found by a command itself (a malformed BDF, a bad --deadline) gets the same hint.
    if (status === EXIT.USAGE) process.stderr.write(`(see: pci-reset-agent${commandPath(argv)} --help)\n`);
    return status;
  }
}

/** The command words of argv (`quirks lookup`), for the hint after a usage error. */
function commandPath(argv: string[]): string {
  const words: string[] = [];
  for (const a of argv.slice(0, 2)) {
    if (a.startsWith('-') || !/^[a-z-]+$/.test(a)) break;
    words.push(a);
    if (a !== 'quirks') break;
  }
  return words.map((w) => ` ${w}`).join('');
}
