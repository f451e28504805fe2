import type { Command } from 'commander';
import { jsonText } from '../json-out.js';
import { formatBdf, parseBdf } from '../../pci/bdf.js';
import { explainFunction, renderExplanation } from '../../plan/explain.js';
import { EXIT } from '../../errors/exit-codes.js';
import { UserError } from '../../errors/user-error.js';
import { namingFor } from '../naming.js';
import { gatherPlanInputs, type PlanOptions } from '../../pipeline/gather-plan-inputs.js';
import { addPlanOptions } from './plan-options.js';

export function registerExplain(program: Command): void {
  addPlanOptions(
    program
      .command('explain')
      .description('every input that led to one function\'s step, verdict or exclusion (never writes anything)')
      .argument('<bdf>', 'the function: 0000:01:00.0 or 01:00.0'),
  ).action(async (bdfText: string, opts: PlanOptions) => {
    const parsed = parseBdf(bdfText) ?? parseBdf(`0000:${bdfText}`);
    if (!parsed) throw new UserError(`${JSON.stringify(bdfText)} is not a PCI address (expected 0000:01:00.0 or 01:00.0)`, EXIT.USAGE);
    const bdf = formatBdf(parsed);
    const inputs = await gatherPlanInputs(opts);
    const x = explainFunction({ scan: inputs.scan, iommu: inputs.iommu, quirks: inputs.quirks, policy: inputs.policy }, bdf);
    if (!x) throw new UserError(`${bdf}: no such function under ${opts.root} (sys/bus/pci/devices has ${inputs.scan.devices.length})`);
    process.stdout.write(opts.json ? jsonText(x) : renderExplanation(x, namingFor(inputs.root, [x.device], opts.numeric)));
  });
}
