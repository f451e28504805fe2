#!/usr/bin/env node
// The window of one e2e run, from its console log, for any build's run (an older build's harness may not
// print it): capture-kernel start → agent start → apply.start → first reset → last reset → agent exit,
// on the capture kernel's dmesg clock (e2e/checks.mjs captureWindow). docs/benchmarks.md uses it for the
// before/after medians of the window.
// Usage: node e2e/window.mjs CONSOLE.LOG [...]   (one JSON line per log)
import * as fs from 'node:fs';
import { captureWindow } from './checks.mjs';

for (const file of process.argv.slice(2)) {
  const all = fs.readFileSync(file, 'utf8').split('\n');
  // The console holds both kernels; the capture kernel's part starts at the last "Linux version" banner.
  // The serial capture prefixes the host's own stamp ("[  29.69] [    4.180479] …"): drop it.
  let from = -1;
  all.forEach((l, i) => {
    if (/\] Linux version /.test(l)) from = i;
  });
  if (from < 0) {
    process.stderr.write(`${file}: no "Linux version" banner: not a console log of a boot\n`);
    process.exitCode = 1;
    continue;
  }
  const lines = all.slice(from).map((l) => l.replace(/^\[\s*\d+\.\d+\] (?=\[\s*\d+\.\d+\])/, ''));
  const w = captureWindow(lines);
  if (!w.window) {
    process.stderr.write(`${file}: the capture kernel's log has no agent start and finish lines\n`);
    process.exitCode = 1;
    continue;
  }
  process.stdout.write(`${JSON.stringify({ file, ...w })}\n`);
}
