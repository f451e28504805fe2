#!/usr/bin/env -S node --max-semi-space-size=1
// The shebang caps V8's young generation at 1 MB per semi-space: a 5,000-function scan then peaks
// near 75 MB RSS instead of 110 MB, at a few percent of speed (bench/scan.ts). The kdump hook and
// unit pass the same flag to node.
import { setRunOrigin } from '../apply/deadline.js';
import { exitWhenDone } from './exit-when-done.js';
import { main } from './main.js';

// `apply --deadline` counts from the process's start, Node's own start-up included.
setRunOrigin(0);
main(process.argv.slice(2)).then(exitWhenDone);
