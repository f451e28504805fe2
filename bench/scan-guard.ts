import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedTree } from '../src/mock/examples/generated.js';
import { median, type Run } from './measure.js';
import { buildBundle } from './overhead.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROJECT = path.resolve(here, '../..');
/** The scan's regression guard: the bundle within 1.0× lspci, peak RSS under 80 MB. */
const MAX_RATIO = 1.0;
const MAX_RSS_MB = 80;

/**
 * The scan as a regression guard, for the two ways it is started: the bundle with the kdump runner's node
 * options, and the launcher `npm run install-dracut` writes (installed into a scratch DESTDIR, its
 * library path pointed there), against `lspci -vvv -nn` on the same generated tree. Median of `runs`.
 */
export async function benchScanGuard(n = 5000, runs = 5): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-guard-'));
  try {
    const bundle = buildBundle(path.join(work, 'bundle'));
    const launcher = installLauncher(path.dirname(bundle), path.join(work, 'dest'));
    const root = path.join(work, 'tree');
    generatedTree(n).write(root);
    const lspci = median('lspci', ['-A', 'linux-sysfs', '-O', `sysfs.path=${root}/sys/bus/pci`, '-vvv', '-nn'], runs);
    const rows: { name: string; r: Run | null; why?: string }[] = [
      { name: 'bundle, runner\'s node options (`--max-semi-space-size=1`)', r: median(process.execPath, ['--max-semi-space-size=1', bundle, 'scan', '--root', root, '--json'], runs) },
      launcher.file ? { name: 'installed launcher (`/usr/sbin/pci-reset-agent`)', r: median('sh', [launcher.file, 'scan', '--root', root, '--json'], runs) } : { name: 'installed launcher', r: null, why: launcher.why },
      { name: 'bundle, plain `node` (no options; for comparison, not guarded)', r: median(process.execPath, [bundle, 'scan', '--root', root, '--json'], runs) },
    ];
    const out = [
      `| ${n} functions | wall | ÷ lspci (guard ≤ ${MAX_RATIO.toFixed(1)}) | peak RSS (guard < ${MAX_RSS_MB} MB) |`,
      '|---|---:|---:|---:|',
      `| \`lspci -vvv -nn\` | ${lspci.wallMs.toFixed(0)} ms | 1.00 | ${mb(lspci)} |`,
    ];
    rows.forEach(({ name, r, why }, i) => {
      if (!r) return out.push(`| ${name} | not run: ${why} | | |`);
      const ratio = r.wallMs / lspci.wallMs;
      const guarded = i < 2;
      const okT = ratio <= MAX_RATIO ? '✓' : '✗';
      const okM = r.peakRssKb !== null && r.peakRssKb / 1024 < MAX_RSS_MB ? '✓' : '✗';
      return out.push(`| ${name} | ${r.wallMs.toFixed(0)} ms | ${ratio.toFixed(2)}${guarded ? ` ${okT}` : ''} | ${mb(r)}${guarded ? ` ${okM}` : ''} |`);
    });
    return out.join('\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** scripts/install-dracut.sh into `dest`; the launcher it writes, with its library path made `dest`'s. */
function installLauncher(bundleDir: string, dest: string): { file: string | null; why?: string } {
  const r = spawnSync('sh', [path.join(PROJECT, 'scripts/install-dracut.sh')], { cwd: PROJECT, encoding: 'utf8', env: { ...process.env, DESTDIR: dest, BUNDLE: bundleDir } });
  const installed = path.join(dest, 'usr/sbin/pci-reset-agent');
  if (r.status !== 0 || !fs.existsSync(installed)) return { file: null, why: `install-dracut.sh exited ${r.status}: ${r.stderr.trim().slice(-200)}` };
  const file = path.join(dest, 'launcher.sh');
  fs.writeFileSync(file, fs.readFileSync(installed, 'utf8').replaceAll('/usr/lib/pci-reset-agent/', `${dest}/usr/lib/pci-reset-agent/`));
  return { file };
}

function mb(r: Run): string {
  return r.peakRssKb === null ? 'n/a' : `${(r.peakRssKb / 1024).toFixed(1)} MB`;
}

// `node dist/bench/scan-guard.js` runs this benchmark alone.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchScanGuard().then((t) => process.stdout.write(`${t}\n`));
}
