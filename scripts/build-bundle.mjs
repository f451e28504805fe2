#!/usr/bin/env node
// Build the single-file agent for kdump images: dist/bundle/pci-reset-agent.mjs (+ koffi.node beside it).
// The default quirk table needs no file: src/quirks/default-text.ts embeds quirks/default.quirks, so the
// bundle carries it; admin tables are read from etc/pci-reset-agent/quirks.d/ under the root at run time.
//
// Why ESM with a require/__dirname banner: the sources are ESM (import.meta.url locates data files), while
// pino and koffi are CommonJS and call require()/__dirname at run time. The banner gives them both, pointing
// at the bundle's own directory, so everything resolves beside the bundle and no node_modules is needed.
//
// koffi: its index.js does `require("./build/koffi/<triplet>/koffi.node")`. The plugin below turns the
// linux_x64 one into a require of `koffi.node` beside the bundle (copied there), and every other triplet into
// a "not shipped" error that koffi's own fallback search reports. koffi is only ever loaded lazily (when the
// IOMMU register read or VFIO runs), so a missing koffi.node never affects scan/plan.
//
// Usage: node scripts/build-bundle.mjs [--outdir DIR] [--quiet] [--packages FILE] [--sourcemap] [--metafile FILE]
//   --packages FILE  write the npm packages bundled (name, version, license: the .deb's copyright lists them)
//   --sourcemap      also write pci-reset-agent.mjs.map (not shipped: for CPU profiles, bench/overhead.ts)
//   --metafile FILE  esbuild's metafile (which input contributes how many bytes)
//   --eager-start    without the lazy-start plugin below (for measuring what it saves)
//   --cjs            a CommonJS pci-reset-agent.cjs instead (bench/cold-start.ts: code cache, startup snapshot)
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.resolve(here, '..');
const args = process.argv.slice(2);
const outdir = path.resolve(args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : path.join(project, 'dist/bundle'));
const quiet = args.includes('--quiet');
const packagesFile = args.includes('--packages') ? path.resolve(args[args.indexOf('--packages') + 1]) : undefined;
const sourcemap = args.includes('--sourcemap');
const metafileOut = args.includes('--metafile') ? path.resolve(args[args.indexOf('--metafile') + 1]) : null;
const cjs = args.includes('--cjs');
const outfile = path.join(outdir, cjs ? 'pci-reset-agent.cjs' : 'pci-reset-agent.mjs');
const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));

const koffiNative = {
  name: 'koffi-native-beside-bundle',
  setup(build) {
    build.onResolve({ filter: /koffi\.node$/ }, (a) => ({ path: a.path, namespace: 'koffi-native' }));
    build.onLoad({ filter: /.*/, namespace: 'koffi-native' }, (a) => ({
      loader: 'js',
      contents: /[/\\]linux_x64[/\\]koffi\.node$/.test(a.path)
        ? `module.exports = require(require('node:path').join(__dirname, 'koffi.node'));`
        : `throw new Error(${JSON.stringify(`koffi: ${a.path} is not shipped with the bundle (linux_x64 only)`)});`,
    }));
  },
};

// native-bindings/ loads koffi synchronously with `createRequire(import.meta.url)('koffi')`, which esbuild
// cannot follow, so the bundle would look for node_modules/koffi at run time. Rewritten to a plain
// `require('koffi')` (the same call at run time, thanks to the banner), esbuild bundles koffi's JS.
const koffiRequire = {
  name: 'bundle-koffi-require',
  setup(build) {
    build.onLoad({ filter: /[/\\]native-bindings[/\\].*\.ts$/ }, async (a) => {
      const text = await fs.promises.readFile(a.path, 'utf8');
      return { loader: 'ts', contents: text.replace(/createRequire\(import\.meta\.url\)\((['"])koffi\1\)/g, "require('koffi')") };
    });
  },
};

// Start-up cost (bench/overhead.ts, docs/benchmarks.md "Node's cold start", docs/startup.md): what node
// loads before the first reset. What the kdump run never uses, or uses only after its resets, is kept out
// of the start:
// - node's ESM facades of built-in modules (`import * as fs from 'node:fs'` fills a namespace object with
//   every export, and fs's `promises`/`ReadStream` getters load the whole stream stack): built-ins are
//   taken with the banner's CommonJS `require` instead, whose exports are read only when used;
// - built-ins that node does not load for itself and that cost a start-up to load (LAZY_BUILTINS: crypto,
//   zlib, https with tls and net, child_process, worker_threads, perf_hooks) are
//   required on their first use, not when the module importing them is initialised. koffi's index.js
//   requires crypto, https and zlib at load for its own download tool (never used at run time): that
//   alone loaded crypto, tls, net, http and zlib into every scan, ~20-30 ms (docs/startup.md). The
//   stand-in has one getter per export the built-in has on the node that builds (so `import { x }`,
//   `import * as m` and `require()` all work); the module is required by the first read of any of them.
//   Only built-ins whose exports are a plain object qualify (not `stream` or `events`, which are classes);
// - pino's writers for its own destinations and transports (sonic-boom, thread-stream: assert, streams,
//   worker_threads): the agent always hands pino its own destination (src/apply/log.ts), so they are
//   replaced by stubs that throw if anything ever asks for them; pino's `worker_threads` (it reads
//   `isMainThread` only) is replaced by the one fact the agent guarantees: it logs from the main thread.
const LAZY_BUILTINS = ['child_process', 'crypto', 'http', 'https', 'net', 'perf_hooks', 'tls', 'worker_threads', 'zlib'];
for (const m of LAZY_BUILTINS) if (typeof createRequire(import.meta.url)(m) !== 'object') throw new Error(`build-bundle: ${m} exports a ${typeof createRequire(import.meta.url)(m)}: it cannot be loaded lazily`);
const lazyBuiltin = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
const requireNative = createRequire(import.meta.url);
/**
 * A built-in as an ES module of its own: `export default` the module and one named export per data
 * property, read once when the bundle initialises it. Taken through a CommonJS stand-in instead, every
 * one of the 47 modules importing node:fs or node:path would get its own copy of the ~100 exports as
 * getters (esbuild's __toESM): 10-25 ms at start (docs/startup.md). Accessor properties (fs.promises and
 * the stream classes, loaded only when read) are not exported: a use of one fails the build (below).
 */
function builtinAsEsm(id) {
  const mod = requireNative(id);
  const names = Object.entries(Object.getOwnPropertyDescriptors(mod))
    .filter(([k, d]) => 'value' in d && k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k) && isBindingName(k))
    .map(([k]) => k)
    .sort();
  return [`const m = require(${JSON.stringify(id)});`, 'export default m;', `export const { ${names.join(', ')} } = m;`].join('\n');
}

function isBindingName(k) {
  try {
    new Function(`let ${k};`);
    return true;
  } catch {
    return false;
  }
}

const lazyStart = {
  name: 'lazy-start',
  setup(build) {
    build.onResolve({ filter: /^(sonic-boom|thread-stream)$/ }, (a) => ({ path: a.path, namespace: 'pino-writer-stub' }));
    build.onResolve({ filter: /^worker_threads$/ }, (a) => (/[/\\]pino[/\\]/.test(a.importer) ? { path: a.path, namespace: 'pino-main-thread' } : undefined));
    // The stand-in's own require() of the built-in is node's (external), not the stand-in again.
    build.onResolve({ filter: lazyBuiltin }, (a) => (a.namespace === 'lazy-builtin' ? { path: a.path, external: true } : { path: `node:${lazyBuiltin.exec(a.path)[2]}`, namespace: 'lazy-builtin' }));
    build.onResolve({ filter: /^node:/ }, (a) => (a.kind === 'import-statement' ? { path: a.path, namespace: 'builtin-cjs' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'builtin-cjs' }, (a) => ({ loader: 'js', contents: builtinAsEsm(a.path) }));
    build.onLoad({ filter: /.*/, namespace: 'pino-writer-stub' }, (a) => ({
      loader: 'js',
      contents: `module.exports = class { constructor() { throw new Error(${JSON.stringify(`${a.path} is not in the kdump bundle: give pino a destination object`)}); } };`,
    }));
    // pino reads only `isMainThread` (to pick a sonic-boom mode): the agent never logs from a worker thread.
    build.onLoad({ filter: /.*/, namespace: 'pino-main-thread' }, () => ({ loader: 'js', contents: 'module.exports = { isMainThread: true };' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
      loader: 'js',
      contents: [
        `let m;`,
        `const load = () => (m ??= require(${JSON.stringify(a.path)}));`,
        `const names = ${JSON.stringify(Object.keys(requireNative(a.path)).filter((k) => k !== 'default').sort())};`,
        `module.exports = {};`,
        `for (const name of names) Object.defineProperty(module.exports, name, { enumerable: true, get: () => load()[name] });`,
      ].join('\n'),
    }));
  },
};

// The entry's own `#!/usr/bin/env node` line is kept first by esbuild; the banner follows it.
const banner = [
  `// pci-reset-agent ${pkg.version} single-file bundle (scripts/build-bundle.mjs). Needs only node >= 20;`,
  '// koffi.node beside this file is loaded only for /dev/mem register reads and VFIO.',
  "import { createRequire as __pra_createRequire } from 'node:module';",
  "import { fileURLToPath as __pra_fileURLToPath } from 'node:url';",
  "import { dirname as __pra_dirname } from 'node:path';",
  'const require = __pra_createRequire(import.meta.url);',
  'const __filename = __pra_fileURLToPath(import.meta.url);',
  'const __dirname = __pra_dirname(__filename);',
].join('\n');

// Only our own files are replaced: --outdir may be a directory that holds other things.
fs.mkdirSync(outdir, { recursive: true });
for (const f of [path.basename(outfile), `${path.basename(outfile)}.map`, 'koffi.node']) fs.rmSync(path.join(outdir, f), { force: true });
const result = await esbuild.build({
  entryPoints: [path.join(project, 'src/cli/bin.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: cjs ? 'cjs' : 'esm',
  // CommonJS has require, __filename and __dirname of its own: only the comment lines of the banner.
  banner: { js: cjs ? banner.split('\n').filter((l) => l.startsWith('//')).join('\n') : banner },
  plugins: [koffiRequire, koffiNative, ...(args.includes('--eager-start') ? [] : [lazyStart])],
  // pino's optional pretty-printer is a dev tool, never present in an image.
  external: ['pino-pretty'],
  legalComments: 'eof',
  metafile: true,
  sourcemap: sourcemap ? 'external' : false,
  logLevel: quiet ? 'error' : 'warning',
});
// ASCII only. esbuild escapes every non-ASCII character of strings, templates and regexes (charset
// `ascii`), but keeps the comments it preserves as they are, and a single `…` in one of them makes node
// decode the whole 1 MB file into a two-byte string that V8 then scans at two-byte speed: 40 ms more
// CPU per start here (docs/startup.md). Escaped as \uXXXX (inert in a comment, and the same value in a
// string, template or regex should esbuild ever leave one there).
const text = fs.readFileSync(outfile, 'utf8');
if (/[^\x00-\x7f]/.test(text)) fs.writeFileSync(outfile, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
fs.chmodSync(outfile, 0o755);
// A built-in's export the ES stand-ins above do not have would be `undefined` at run time: refuse the build.
const missing = result.warnings.filter((w) => /will always be undefined/.test(w.text));
if (missing.length) throw new Error(`build-bundle: ${missing.map((w) => `${w.location?.file}:${w.location?.line}: ${w.text}`).join('; ')}`);
if (metafileOut) fs.writeFileSync(metafileOut, JSON.stringify(result.metafile));

// Native module for the lazily loaded FFI (koffi), beside the bundle.
const koffiSrc = path.join(project, 'node_modules/koffi/build/koffi/linux_x64/koffi.node');
if (fs.existsSync(koffiSrc)) fs.copyFileSync(koffiSrc, path.join(outdir, 'koffi.node'));

// Which npm packages went into the bundle (and koffi, whose koffi.node ships beside it), for licensing.
if (packagesFile) {
  const dirs = new Set([path.join(project, 'node_modules/koffi')]);
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(path.resolve(project, m[1]));
  }
  const packages = [...dirs].sort().map((d) => {
    const p = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8'));
    return { name: p.name, version: p.version, license: p.license ?? 'UNKNOWN', author: typeof p.author === 'string' ? p.author : p.author?.name };
  });
  fs.writeFileSync(packagesFile, `${JSON.stringify(packages, null, 2)}\n`);
}

if (!quiet) {
  const size = (f) => fs.statSync(path.join(outdir, f)).size;
  const files = fs.readdirSync(outdir).sort();
  for (const f of files) process.stdout.write(`${path.relative(project, path.join(outdir, f))}\t${size(f)} bytes\n`);
  process.stdout.write(`inputs bundled: ${Object.keys(result.metafile.inputs).length}\n`);
}
