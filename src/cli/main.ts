import { Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';
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

/** The program with every command, or with only `command` when that names one (what a run needs). */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command();
  program
    .name('pci-reset-agent')
    .description('Stop stale DMA before a crash-dump kernel\'s drivers wake up: scan PCI, judge the IOMMU, plan and perform resets.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  const names = command !== undefined && Object.hasOwn(COMMANDS, command) ? [command] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((n) => COMMANDS[n]!()))) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // The first word is the command; help, --version and mistakes get the whole program.
    const program = await buildProgram(argv[0]);
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    return reportError(err);
  }
}

