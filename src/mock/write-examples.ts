import * as fs from 'node:fs';
import * as path from 'node:path';
import { kdumpServerTree } from './examples/kdump-server.js';
import { laptopTree } from './examples/laptop.js';
import { serverTree } from './examples/server.js';
import { kdumpVmTree } from './examples/kdump-vm.js';
import type { MockTree } from './tree-builder.js';

/** The example trees shipped in examples/, by directory name. */
export const EXAMPLES: Record<string, () => MockTree> = {
  server: serverTree,
  laptop: laptopTree,
  'kdump-server': kdumpServerTree,
  'kdump-vm': kdumpVmTree,
};

/** Regenerate examples/ (`npm run examples`); a test checks the committed trees match. */
export function writeExamples(dir: string): void {
  for (const [name, make] of Object.entries(EXAMPLES)) {
    const out = path.join(dir, name);
    fs.rmSync(out, { recursive: true, force: true });
    make().write(out);
  }
}
