import { describe, expect, it } from 'vitest';
import { toLogLines } from '../../src/iommu/kmsg/log-lines.js';
import { parseLog } from '../../src/iommu/kmsg/parse-log.js';
import { bounded, iterations, Prng, report, seed } from './prng.js';

/** Real wordings (kmsg record form and dmesg form) to cut, splice and corrupt. */
const LINES = [
  '6,312,1200345,-;DMAR: Host address width 39',
  '6,313,1200400,-;DMAR: DRHD base: 0x000000fed90000 flags: 0x0',
  '6,314,1200500,-;DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a',
  '6,320,1300000,-;DMAR: Translation already enabled - trying to copy translation structures',
  '6,321,1300100,-;DMAR: Copied translation tables from previous kernel for dmar0',
  '3,322,1300200,-;DMAR: Failed to copy translation tables from previous kernel for dmar0',
  '6,323,1300300,-;DMAR-IR: Copied IR table for dmar0 from previous kernel',
  '3,330,2000000,-;DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0xfffff000 [fault reason 0x06] PTE Read access is not set',
  '3,331,2000001,-;DMAR: DRHD: handling fault status reg 3',
  '[    2.345678] DMAR: [DMA Write] Request device [02:00.0] PASID ffffffff fault addr 7fff0000 [fault reason 05] PTE Write access is not set',
  '[    1.000000] AMD-Vi: Translation is already enabled - trying to copy translation structures',
  '[    1.000001] AMD-Vi: Copied DEV table from previous kernel.',
  '[    1.000002] AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000 address=0xfffff000 flags=0x0000]',
  '[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iomem=relaxed crashkernel=384M',
  ' SUBSYSTEM=pci',
  ' DEVICE=+pci:0000:01:00.0',
];

function mangle(rng: Prng): string {
  const out: string[] = [];
  const n = 1 + rng.int(40);
  for (let i = 0; i < n; i++) {
    let l = rng.pick(LINES);
    switch (rng.int(7)) {
      case 0:
        l = l.slice(0, rng.int(l.length + 1)); // cut in the middle
        break;
      case 1:
        l = l + String.fromCharCode(...rng.bytes(rng.int(40))); // binary tail
        break;
      case 2:
        l = l.repeat(1 + rng.int(2000)).slice(0, 1 << (10 + rng.int(10))); // huge
        break;
      case 3:
        l = l.replace(/\d/g, () => String(rng.int(10))); // numbers shuffled
        break;
      case 4:
        l = l.replace(/\[|\]/g, ''); // brackets gone
        break;
      case 5:
        l = `\\x${rng.int(256).toString(16)}${l}\\x`; // kmsg escapes, some broken
        break;
      default:
    }
    out.push(l);
  }
  return out.join(rng.pick(['\n', '\r\n', '\n\n', '\0']));
}

describe('fuzz: kernel log parser', () => {
  it('cut, binary, huge and shuffled lines', () => {
    const rng = new Prng(seed() + 23);
    const t0 = performance.now();
    const n = iterations(1500);
    for (let i = 0; i < n; i++) {
      const text = mangle(rng);
      const facts = bounded(`log of ${text.length} chars`, () => parseLog(toLogLines(text), 'kmsg'));
      expect(facts.lines).toBeGreaterThanOrEqual(0);
      expect(() => JSON.stringify(facts, (_k, v) => (v instanceof Set ? [...v] : v instanceof Map ? [...v] : v))).not.toThrow();
    }
    report('kernel log lines', n, performance.now() - t0);
  });
});
