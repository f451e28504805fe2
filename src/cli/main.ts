import { Command, CommanderError } from 'commander';
import { registerScan } from './commands/scan.js';
import { registerCapture } from './commands/capture.js';
import { registerMock } from './commands/mock.js';
import { registerIommu } from './commands/iommu.js';
import { registerPlan } from './commands/plan.js';
import { registerExplain } from './commands/explain.js';
import { registerQuirks } from './commands/quirks.js';
import { registerApply } from './commands/apply.js';
import { EXIT } from './exit-codes.js';
import { reportError } from './fail.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('pci-reset-agent')
    .description('Stop stale DMA before a crash-dump kernel\'s drivers wake up: scan PCI, judge the IOMMU, plan and perform resets.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  registerScan(program);
  registerCapture(program);
  registerMock(program);
  registerIommu(program);
  registerPlan(program);
  registerExplain(program);
  registerQuirks(program);
  registerApply(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
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

