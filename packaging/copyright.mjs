#!/usr/bin/env node
// Writes the .deb's /usr/share/doc/pci-reset-agent/copyright (machine-readable, DEP-5) to stdout: the
// project under GPL-2 (Debian's common-licenses copy, as policy 12.5 asks for the GPL), and each npm
// package bundled into pci-reset-agent.mjs or shipped beside it (koffi.node), from the list
// scripts/build-bundle.mjs --packages writes. Usage: node packaging/copyright.mjs packages.json YEAR
import * as fs from 'node:fs';

const packages = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const year = process.argv[3] ?? String(new Date().getUTCFullYear());
const unknown = packages.filter((p) => p.license !== 'MIT');
if (unknown.length > 0) {
  // Only MIT's text is below: a bundled package under another license needs its text added here.
  process.stderr.write(`copyright.mjs: not MIT, add its license text: ${unknown.map((p) => `${p.name} (${p.license})`).join(', ')}\n`);
  process.exit(1);
}
const out = [
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
  'Upstream-Name: pci-reset-agent',
  '',
  'Files: *',
  `Copyright: ${year} pci-reset-agent developers`,
  'License: GPL-2',
  '',
];
// The bundle is our code (GPL-2) with the npm packages compiled in (all MIT, "Expat" in DEP-5 terms);
// koffi.node is koffi's alone.
const bundled = packages.filter((p) => p.name !== 'koffi');
const koffi = packages.find((p) => p.name === 'koffi');
out.push(
  'Files: usr/lib/pci-reset-agent/pci-reset-agent.mjs',
  `Copyright: ${year} pci-reset-agent developers`,
  ...bundled.map((p) => `           ${p.author ?? `the ${p.name} authors`} (${p.name} ${p.version})`),
  'License: GPL-2 and Expat',
  `Comment: pci-reset-agent (GPL-2) with these npm packages bundled (Expat): ${bundled.map((p) => p.name).join(', ')}.`,
  '',
);
if (koffi) {
  out.push(
    'Files: usr/lib/pci-reset-agent/koffi.node',
    `Copyright: ${koffi.author ?? 'the koffi authors'}`,
    'License: Expat',
    `Comment: koffi ${koffi.version}, the native part of its FFI.`,
    '',
  );
}
out.push(
  'License: GPL-2',
  ' This program is free software; you can redistribute it and/or modify it under the terms of',
  ' version 2 of the GNU General Public License as published by the Free Software Foundation.',
  ' .',
  ' This program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY;',
  ' without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.',
  ' .',
  ' On Debian systems, the complete text of the GNU General Public License version 2 can be',
  ' found in /usr/share/common-licenses/GPL-2.',
  '',
  'License: Expat',
  ' Permission is hereby granted, free of charge, to any person obtaining a copy of this software',
  ' and associated documentation files (the "Software"), to deal in the Software without',
  ' restriction, including without limitation the rights to use, copy, modify, merge, publish,',
  ' distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the',
  ' Software is furnished to do so, subject to the following conditions:',
  ' .',
  ' The above copyright notice and this permission notice shall be included in all copies or',
  ' substantial portions of the Software.',
  ' .',
  ' THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING',
  ' BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND',
  ' NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,',
  ' DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,',
  ' OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.',
  '',
);
process.stdout.write(out.join('\n'));
