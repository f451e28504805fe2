import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { scan } from '../../src/scan/scan.js';
import { assessIommu } from '../../src/iommu/assess.js';
import { parseLog } from '../../src/iommu/kmsg/parse-log.js';
import { toLogLines } from '../../src/iommu/kmsg/log-lines.js';

/**
 * A message that changed between the two Debian kernels the e2e boots, caught on their real logs
 * (test/fixtures/iommu/amd-6.1 and amd-6.12): 6.1 prints "AMD-Vi: Found IOMMU cap 0x40" once the unit is
 * enabled, 6.12 no longer does (issue 13, defect 1). The crashed kernel's translation must still be known
 * from what 6.12 does print ("AMD-Vi: Extended features (…)", after early_enable_iommus()).
 */
const DIR = path.resolve(import.meta.dirname, '../fixtures/iommu');
const has = (f: string): boolean => fs.existsSync(path.join(DIR, f, 'old-log.txt'));
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

const kinds = (fixture: string): Set<string> => new Set(parseLog(toLogLines(fs.readFileSync(path.join(DIR, fixture, 'old-log.txt'), 'utf8')), 'old-log').hits.map((h) => h.event.kind));

describe('AMD-Vi as 6.1 and 6.12 log it (real crashed-kernel logs)', () => {
  it.skipIf(!has('amd-6.1') || !has('amd-6.12'))('"Found IOMMU cap" is in 6.1 and gone in 6.12; "Extended features" is in both', () => {
    const k61 = kinds('amd-6.1');
    const k612 = kinds('amd-6.12');
    expect(k61.has('amd-found')).toBe(true);
    expect(k612.has('amd-found')).toBe(false);
    expect(k61.has('amd-efr')).toBe(true);
    expect(k612.has('amd-efr')).toBe(true);
  });

  it.skipIf(!has('amd-6.12'))('6.12: without the capture kernel\'s copy lines, the old log alone still says translation was on before', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'iommu-612-'));
    tmp.push(copy);
    fs.cpSync(path.join(DIR, 'amd-6.12/root'), copy, { recursive: true, verbatimSymlinks: true });
    const kmsg = path.join(copy, 'dev/kmsg');
    const lines = fs.readFileSync(kmsg, 'utf8').split('\n');
    const kept = lines.filter((l) => !/Translation is already enabled|DEV table from previous kernel/.test(l));
    expect(kept.length).toBe(lines.length - 2);
    fs.writeFileSync(kmsg, kept.join('\n'));
    const root = new Root(copy);
    const r = await assessIommu(root, scan(new SysfsAccess(root), copy), { oldLogFile: path.join(DIR, 'amd-6.12/old-log.txt'), readRegisters: false });
    const u = r.units.find((x) => x.name === 'ivhd0')!;
    expect(u.translationEnabledBefore).toBe(true);
    expect(u.basis.before).toMatch(/old-log.*Extended features/);
  });
});

describe('VT-d scalable mode on 6.12: faults from a PCIe-to-PCI bridge\'s requester ID (real crashed-kernel log)', () => {
  it.skipIf(!has('vtd-scalable-6.12'))('04:00.0 is not a function: its faults are the e1000 behind the bridge (0000:04:01.0), not "a function gone"', async () => {
    const rootDir = path.join(DIR, 'vtd-scalable-6.12/root');
    const root = new Root(rootDir);
    const r = await assessIommu(root, scan(new SysfsAccess(root), rootDir), { oldLogFile: path.join(DIR, 'vtd-scalable-6.12/old-log.txt'), readRegisters: false });
    expect(r.problems.filter((p) => /not present now/.test(p))).toEqual([]);
    const e1000 = r.devices.find((d) => d.bdf === '0000:04:01.0')!;
    expect(e1000.faultsBefore).toBeGreaterThan(0);
    expect(r.evidence.map((e) => e.fact).join('\n')).toMatch(/from 0000:04:00\.0, the requester ID PCIe-to-PCI bridge 0000:03:00\.0 uses/);
  });
});
