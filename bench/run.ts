import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { plotResults } from './plot.js';
import { benchScan } from './scan.js';

/**
 * `npm run bench`: every benchmark, tables in markdown on stdout and in bench/out/results.md.
 * Sections whose module is not there yet are listed as missing rather than failing the run.
 */
type Section = { title: string; run: () => Promise<string> };

async function optional(title: string, modulePath: string, exportName: string): Promise<Section> {
  return {
    title,
    run: async () => {
      try {
        const mod = (await import(modulePath)) as Record<string, () => Promise<string>>;
        const fn = mod[exportName];
        if (typeof fn !== 'function') return `(${modulePath} has no ${exportName})`;
        return await fn();
      } catch (err) {
        return `(not run: ${(err as Error).message.split('\n')[0]})`;
      }
    },
  };
}

async function mainBench(): Promise<void> {
  const sections: Section[] = [
    { title: 'scan vs lspci', run: () => benchScan() },
    await optional('scan confinement', './scan-confinement.js', 'benchScanConfinement'),
    await optional('scan guard (bundle and installed launcher)', './scan-guard.js', 'benchScanGuard'),
    await optional('iommu', './iommu.js', 'benchIommu'),
    await optional('plan', './plan.js', 'benchPlan'),
    await optional('apply (simulator, real-time waits)', './apply.js', 'benchApply'),
    await optional('reliability', './reliability.js', 'benchReliability'),
    await optional('hostile inputs', './hostile.js', 'benchHostile'),
    await optional('audit', './audit.js', 'benchAudit'),
    await optional('overhead beyond the mandated waits (simulated capture)', './overhead.js', 'benchOverhead'),
    await optional("node's cold start with the agent", './cold-start.js', 'benchColdStart'),
    await optional('node.squashfs compressors', './squashfs.js', 'benchSquashfs'),
  ];
  const only = process.argv.slice(2);
  const out: string[] = [`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString()}`];
  for (const s of sections) {
    if (only.length && !only.some((o) => s.title.startsWith(o))) continue;
    process.stderr.write(`bench: ${s.title}…\n`);
    out.push(`\n### ${s.title}\n\n${await s.run()}`);
  }
  const text = out.join('\n') + '\n';
  process.stdout.write(text);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bench/out');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'results.md'), text);
  // The plots of this run's tables, beside the tables (docs/benchmarks.md shows the ones last committed).
  for (const f of plotResults(path.join(dir, 'results.md'), dir)) process.stderr.write(`bench: plotted ${path.relative(process.cwd(), f)}\n`);
}

mainBench().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
