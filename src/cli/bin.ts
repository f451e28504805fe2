#!/usr/bin/env -S node --max-semi-space-size=1
// The shebang caps V8's young generation at 1 MB per semi-space: a 5,000-function scan then peaks
// near 75 MB RSS instead of 110 MB, at a few percent of speed (bench/scan.ts). The kdump hook and
// unit pass the same flag to node.
import { readFileSync } from 'node:fs';
import { setRunOrigin } from '../apply/deadline.js';
import { execOrigin, procUptime } from './exec-origin.js';
import { exitWhenDone } from './exit-when-done.js';
import { main } from './main.js';

// `apply --deadline` counts from the process's start, Node's own start-up included; from the kdump
// runner's exec of node when it says when that was (PRA_EXEC_UPTIME, exec-origin.ts).
const execUptime = process.env.PRA_EXEC_UPTIME;
setRunOrigin(execUptime === undefined ? 0 : execOrigin(execUptime, () => procUptime(() => readFileSync('/proc/uptime', 'utf8')), performance.now()));
main(process.argv.slice(2)).then(exitWhenDone);
