import { describe, expect, it } from 'vitest';
import { generatedTree } from '../../src/mock/examples/generated.js';
import { laptopTree } from '../../src/mock/examples/laptop.js';
import { serverTree } from '../../src/mock/examples/server.js';
import type { MockTree } from '../../src/mock/tree-builder.js';
import type { ScanDevice } from '../../src/scan/scan-result.js';
import { lspci, lspciAvailable } from '../helpers/lspci.js';
import { scanDir } from '../helpers/open.js';
import { tmpDir } from '../helpers/tmp-root.js';

// CI installs pciutils (.ci/run); a developer machine without it skips, CI never does.
const haveLspci = lspciAvailable();
if (!haveLspci && process.env.CI) throw new Error('lspci is required in CI (apt-get install pciutils)');

/**
 * lspci is the oracle for decoding. Where it and the kernel differ we follow the kernel:
 * - lspci shows DevCap FLReset only for endpoint types (legacy, RC-integrated, endpoint); the kernel's
 *   pcie_reset_flr() reads the bit on every PCIe function, so we compare `flr` only where lspci prints it;
 * - lspci follows capability pointers into the header; the kernel stops (none of these trees has one).
 */
function compare(tree: MockTree): number {
  const root = tree.write(tmpDir());
  const ours = new Map(scanDir(root).devices.map((d) => [d.bdf, d]));
  const theirs = lspci(root);
  expect(theirs.length).toBe(ours.size);
  let checked = 0;
  for (const l of theirs) {
    const d: ScanDevice = ours.get(l.bdf)!;
    expect(d, l.bdf).toBeDefined();
    const where = `${l.bdf}`;
    expect(d.vendor, where).toBe(l.vendor);
    expect(d.device, where).toBe(l.device);
    expect(d.class!.slice(0, 4), where).toBe(l.class4);
    if (l.revision !== null) expect(d.revision, where).toBe(l.revision);
    if (l.subsystem !== null) expect(`${d.subsystemVendor}:${d.subsystemDevice}`, where).toBe(l.subsystem);
    expect(d.capabilities.map((c) => c.offset), where).toEqual(l.capOffsets);
    expect(d.extendedCapabilities.map((c) => c.offset), where).toEqual(l.extCapOffsets);
    for (const c of [...d.capabilities, ...d.extendedCapabilities]) {
      const id = l.capIds.get(c.offset);
      if (id !== undefined) expect(c.id, `${where} cap @${c.offset.toString(16)}`).toBe(id);
    }
    if (l.flReset !== null) expect(d.flr, `${where} FLReset`).toBe(l.flReset);
    if (l.noSoftRst !== null) expect(d.pm?.noSoftReset, `${where} NoSoftRst`).toBe(l.noSoftRst);
    else expect(d.pm, `${where} PM`).toBeNull();
    if (l.af) expect(d.af, `${where} AF`).toEqual(l.af);
    else expect(d.af, `${where} AF`).toBeNull();
    if (l.bus) expect([d.secondaryBus, d.subordinateBus], `${where} bus`).toEqual([l.bus.secondary, l.bus.subordinate]);
    else expect(d.secondaryBus, where).toBeNull();
    checked++;
  }
  return checked;
}

describe.skipIf(!haveLspci)('scan agrees with lspci -vvv -nn', () => {
  it('on the example server', () => {
    expect(compare(serverTree())).toBe(29);
  });

  it('on the example laptop', () => {
    expect(compare(laptopTree())).toBe(17);
  });

  it('on a generated tree of 3,000 functions', () => {
    expect(compare(generatedTree(3000))).toBe(3000);
  });
});
