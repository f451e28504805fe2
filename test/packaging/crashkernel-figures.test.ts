import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MODULE_DIR, PROJECT } from './paths.js';
import { MEASURED_CRASHKERNEL } from '../../src/footprint/measured.js';

/** One measured number per configuration: the module's warning, the docs and `footprint` all say the same. */
describe('measured crashkernel figures agree', () => {
  const plain = MEASURED_CRASHKERNEL.find((m) => m.node === 'plain')!;
  it('module-setup.sh warns with the measured plain-node figure', () => {
    const setup = fs.readFileSync(path.join(MODULE_DIR, 'module-setup.sh'), 'utf8');
    expect(setup).toContain(`PRA_PLAIN_NODE_CRASHKERNEL=${plain.worksMiB}M`);
    expect(setup).not.toMatch(/384M/);
  });

  it("docs/kdump.md's table has the same works/fails sizes", () => {
    const doc = fs.readFileSync(path.join(PROJECT, 'docs/kdump.md'), 'utf8');
    expect(doc).toMatch(new RegExp(`node as a plain file \\| ${plain.worksMiB}M \\| ${plain.failsMiB}M`));
    // The default (node in a zstd squashfs) is the row in bold.
    const dflt = MEASURED_CRASHKERNEL.find((m) => m.node === 'squashfs-zstd')!;
    expect(doc).toMatch(new RegExp(`\\*\\*${dflt.worksMiB}M\\*\\*`));
    expect(doc).toContain(`${dflt.failsMiB}M: \`Initramfs unpacking failed`);
  });
});
