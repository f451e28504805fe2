import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROJECT = path.resolve(here, '../..');
const TIME = '/usr/bin/time';
/** The kdump runner's node options; a startup snapshot only loads under the flags it was built with. */
const NODE_FLAGS = ['--max-semi-space-size=1'];

interface Variant {
  name: string;
  argv: string[];
  /** Files the image would carry for it (bytes). */
  bytes: number;
}

/** Runs a vm.Script of the CommonJS bundle with V8's code cache beside it; PRA_CODE_CACHE_WRITE=1 writes the cache at exit. */
const CODE_CACHE_LOADER = `'use strict';
const fs = require('node:fs');
const vm = require('node:vm');
const file = require('node:path').join(__dirname, 'pci-reset-agent.cjs');
let cachedData;
try { cachedData = fs.readFileSync(file + '.cache'); } catch {}
const source = fs.readFileSync(file, 'utf8').replace(/^#!.*/, '');
const script = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + source + '\\n})', { filename: file, cachedData });
if (process.env.PRA_CODE_CACHE_WRITE === '1') process.on('exit', () => fs.writeFileSync(file + '.cache', script.createCachedData()));
else if (script.cachedDataRejected) process.stderr.write('code cache rejected\\n');
const m = { exports: {} };
process.argv.splice(1, 1, file);
script.runInThisContext()(m.exports, require, m, file, require('node:path').dirname(file));
`;

/** Entry of the startup snapshot: the apply command's modules initialised at build time, main at run time. */
const SNAPSHOT_ENTRY = `import * as v8 from 'node:v8';
import { exitWhenDone } from './exit-when-done.js';
import { buildProgram, main } from './main.js';
void buildProgram('apply');
v8.startupSnapshot.setDeserializeMainFunction(() => {
  // A snapshot run has no script argument: argv is [node, ...args].
  main(process.argv.slice(1)).then(exitWhenDone);
});
`;

function bundleOf(dir: string, extra: string[]): string {
  const r = spawnSync(process.execPath, [path.join(PROJECT, 'scripts/build-bundle.mjs'), '--outdir', dir, '--quiet', ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-bundle ${extra.join(' ')}: ${r.stderr.slice(-300)}`);
  return path.join(dir, extra.includes('--cjs') ? 'pci-reset-agent.cjs' : 'pci-reset-agent.mjs');
}

async function snapshotBlob(dir: string): Promise<string | null> {
  fs.mkdirSync(dir, { recursive: true });
  const entry = path.join(dir, 'entry.cjs');
  await esbuild.build({
    stdin: { contents: SNAPSHOT_ENTRY, resolveDir: path.join(PROJECT, 'src/cli'), loader: 'ts', sourcefile: 'snapshot-entry.ts' },
    outfile: entry,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['pino-pretty', 'koffi'],
    logLevel: 'silent',
  });
  const blob = path.join(dir, 'agent.blob');
  const r = spawnSync(process.execPath, [...NODE_FLAGS, '--snapshot-blob', blob, '--build-snapshot', entry], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 && fs.existsSync(blob) ? blob : null;
}

const size = (...files: string[]): number => files.reduce((n, f) => n + fs.statSync(f).size, 0);

/**
 * Node's cold start with the agent, on this machine (the QEMU e2e shows the same in a capture kernel,
 * docs/benchmarks.md): `apply --simulate --virtual-time` of the small mock server, so nearly all of it is
 * node starting, loading the bundle and initialising modules. Builds compared, runs interleaved so all see
 * the same load: the ESM bundle as formerly built (`--eager-start`), the shipped ESM bundle, a
 * CommonJS bundle, the CommonJS bundle through vm.Script with a V8 code cache, a V8 startup snapshot.
 */
export async function benchColdStart(runs = 15): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pra-bench-cold-'));
  try {
    const eager = bundleOf(path.join(work, 'eager'), ['--eager-start']);
    const esm = bundleOf(path.join(work, 'esm'), []);
    const cjsDir = path.join(work, 'cjs');
    const cjs = bundleOf(cjsDir, ['--cjs']);
    const loader = path.join(cjsDir, 'run-cached.cjs');
    fs.writeFileSync(loader, CODE_CACHE_LOADER);
    const root = path.join(work, 'root');
    spawnSync(process.execPath, [esm, 'mock', 'server', '--out', root]);
    const args = ['apply', '--simulate', '--virtual-time', '--assume-capture-kernel', '--root', root, '--json'];
    spawnSync(process.execPath, [...NODE_FLAGS, loader, ...args], { env: { ...process.env, PRA_CODE_CACHE_WRITE: '1' } });
    const blob = await snapshotBlob(path.join(work, 'snap'));
    const empty = path.join(work, 'empty.mjs');
    fs.writeFileSync(empty, '');
    const variants: Variant[] = [
      { name: 'node alone (empty script)', argv: [...NODE_FLAGS, empty], bytes: 0 },
      { name: 'ESM bundle, every built-in loaded at start (the former build)', argv: [...NODE_FLAGS, eager, ...args], bytes: size(eager) },
      { name: '**ESM bundle, lazy start (shipped)**', argv: [...NODE_FLAGS, esm, ...args], bytes: size(esm) },
      { name: 'CommonJS bundle', argv: [...NODE_FLAGS, cjs, ...args], bytes: size(cjs) },
      { name: 'CommonJS bundle + V8 code cache', argv: [...NODE_FLAGS, loader, ...args], bytes: size(cjs, loader, `${cjs}.cache`) },
      ...(blob ? [{ name: 'V8 startup snapshot (`--snapshot-blob`)', argv: [...NODE_FLAGS, '--snapshot-blob', blob, ...args], bytes: size(blob) }] : []),
    ];
    const res = variants.map(() => ({ cpu: [] as number[], wall: [] as number[], rss: [] as number[], failed: 0 }));
    for (let i = 0; i < runs; i++) {
      variants.forEach((v, j) => {
        const t = process.hrtime.bigint();
        const r = spawnSync(TIME, ['-f', '@@ %U %S %M', process.execPath, ...v.argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
        res[j]!.wall.push(Number(process.hrtime.bigint() - t) / 1e6);
        const m = /@@ ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
        if (r.status !== 0 || !m || /rejected/.test(r.stderr)) res[j]!.failed++;
        if (m) {
          res[j]!.cpu.push((Number(m[1]) + Number(m[2])) * 1000);
          res[j]!.rss.push(Number(m[3]) / 1024);
        }
      });
    }
    const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1] ?? NaN;
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    const floor = mean(res[0]!.cpu);
    return [
      `| build | wall, median (ms) | CPU user+sys, mean (ms) | CPU above node alone (ms) | peak RSS | files in the image | runs failed |`,
      '|---|---:|---:|---:|---:|---:|---:|',
      ...variants.map((v, j) => {
        const r = res[j]!;
        return `| ${v.name} | ${med(r.wall).toFixed(0)} | ${mean(r.cpu).toFixed(0)} | ${j === 0 ? '–' : (mean(r.cpu) - floor).toFixed(0)} | ${med(r.rss).toFixed(0)} MB | ${v.bytes ? `${(v.bytes / 1024).toFixed(0)} KB` : '–'} | ${r.failed}/${runs} |`;
      }),
      ...(blob ? [] : ['', '(the startup snapshot could not be built on this node)']),
      '',
      `${runs} interleaved runs of \`apply --simulate --virtual-time\` on the mock server (clock ticks are 10 ms: CPU is a mean). The code cache is V8's, made by one earlier run with the same node and flags (a cache from another node is rejected and the code compiled as usual: counted as a failed run here). The snapshot holds node's own start-up state plus the agent's modules initialised; it only loads under the exact node binary and V8 flags it was built with.`,
    ].join('\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// `node dist/bench/cold-start.js [runs]` runs this benchmark alone.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchColdStart(Number(process.argv[2] ?? 15)).then((t) => process.stdout.write(`${t}\n`));
}
