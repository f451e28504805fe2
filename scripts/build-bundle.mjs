#!/usr/bin/env node
// Build the single-file agent for kdump images: dist/bundle/pci-reset-agent.mjs (+ koffi.node, quirk tables).
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
// Usage: node scripts/build-bundle.mjs [--outdir DIR] [--quiet]
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const project = path.resolve(here, '..');
const args = process.argv.slice(2);
const outdir = path.resolve(args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : path.join(project, 'dist/bundle'));
const quiet = args.includes('--quiet');
const outfile = path.join(outdir, 'pci-reset-agent.mjs');
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

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(outdir, { recursive: true });
const result = await esbuild.build({
  entryPoints: [path.join(project, 'src/cli/bin.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner: { js: banner },
  plugins: [koffiNative],
  // pino's optional pretty-printer is a dev tool, never present in an image.
  external: ['pino-pretty'],
  legalComments: 'eof',
  metafile: true,
  logLevel: quiet ? 'error' : 'warning',
});
fs.chmodSync(outfile, 0o755);

// Native module for the lazily loaded FFI (koffi), beside the bundle.
const koffiSrc = path.join(project, 'node_modules/koffi/build/koffi/linux_x64/koffi.node');
if (fs.existsSync(koffiSrc)) fs.copyFileSync(koffiSrc, path.join(outdir, 'koffi.node'));

// Default quirk table(s): data files the agent reads at run time, shipped beside the bundle under the
// same relative path the sources use, so `new URL(..., import.meta.url)`-style lookups resolve either way.
const shipped = [];
for (const rel of dataFiles()) {
  const dest = path.join(outdir, path.basename(rel));
  fs.copyFileSync(path.join(project, rel), dest);
  shipped.push(path.basename(rel));
}

if (!quiet) {
  const size = (f) => fs.statSync(path.join(outdir, f)).size;
  const files = fs.readdirSync(outdir).sort();
  for (const f of files) process.stdout.write(`${path.relative(project, path.join(outdir, f))}\t${size(f)} bytes\n`);
  process.stdout.write(`inputs bundled: ${Object.keys(result.metafile.inputs).length}\n`);
}

/** Quirk-table data files the agent reads beside its code (src/quirks/*.quirks, *.tsv, *.txt). */
function dataFiles() {
  const dir = path.join(project, 'src/quirks');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => !/\.(ts|js|mjs|cjs|md)$/.test(f) && fs.statSync(path.join(dir, f)).isFile())
    .map((f) => path.join('src/quirks', f));
}
