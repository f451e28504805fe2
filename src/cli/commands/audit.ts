import type { Command } from 'commander';
import { jsonText } from '../json-out.js';
import { runAudit } from '../../audit/audit.js';
import { writeFileAtomic } from '../../audit/atomic-write.js';
import { toPrometheus } from '../../audit/prometheus.js';
import { renderAudit } from '../../audit/render-audit.js';
import { EXIT } from '../../errors/exit-codes.js';
import { UserError } from '../../errors/user-error.js';
import { gatherPlanInputs, type PlanOptions } from '../../pipeline/gather-plan-inputs.js';
import { addPlanOptions } from './plan-options.js';

interface AuditOptions extends PlanOptions {
  kdumpImage?: string;
  kdumpCmdline?: string;
  prometheus?: string;
}

export function registerAudit(program: Command): void {
  addPlanOptions(
    program
      .command('audit')
      .description('kdump readiness: which devices will keep doing DMA in the capture kernel, read from the kdump image, its command line and the IOMMU (read-only; exit 7 when at risk)')
      .option('--kdump-image <file>', 'read this kdump initramfs instead of the one the kdump tooling built')
      .option('--kdump-cmdline <text>', 'the capture kernel\'s command line, instead of working it out from the kdump configuration')
      .option('--prometheus <file>', 'also write the result for node_exporter\'s textfile collector (atomically replaced)'),
  ).action(async (opts: AuditOptions) => {
    const inputs = await gatherPlanInputs(opts);
    const report = await runAudit({ root: inputs.root, scan: inputs.scan, iommu: inputs.iommu, quirks: inputs.quirks, policy: inputs.policy, imageFile: opts.kdumpImage, cmdline: opts.kdumpCmdline, quirkFiles: opts.quirks });
    if (opts.prometheus !== undefined) {
      try {
        writeFileAtomic(opts.prometheus, toPrometheus(report, Date.now() / 1000));
      } catch (err) {
        throw new UserError(`--prometheus ${opts.prometheus}: ${(err as Error).message}`);
      }
    }
    process.stdout.write(opts.json ? jsonText(report) : renderAudit(report, { numeric: opts.numeric }));
    if (!report.ready) process.exitCode = EXIT.AUDIT_AT_RISK;
  });
}
