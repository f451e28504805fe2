import type { Command } from 'commander';
import { jsonText } from '../json-out.js';
import { buildPlan } from '../../plan/build-plan.js';
import { renderPlan } from '../../plan/render-plan.js';
import { namingFor } from '../naming.js';
import { gatherPlanInputs, type PlanOptions } from '../../pipeline/gather-plan-inputs.js';
import { addPlanOptions } from './plan-options.js';

export function registerPlan(program: Command): void {
  addPlanOptions(
    program
      .command('plan')
      .description('decide, per function, whether and how it would be reset, and why (never writes anything)'),
  ).action(async (opts: PlanOptions) => {
    const inputs = await gatherPlanInputs(opts);
    const plan = buildPlan({ scan: inputs.scan, iommu: inputs.iommu, quirks: inputs.quirks, policy: inputs.policy });
    process.stdout.write(opts.json ? jsonText(plan) : renderPlan(plan, inputs.scan, namingFor(inputs.root, inputs.scan.devices, opts.numeric)));
  });
}
