import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ApplyReport } from '../../src/apply/apply-report.js';
import type { AuditReport } from '../../src/audit/audit-report.js';
import { compareWithCapture, parseDriverList } from '../../src/audit/compare-capture.js';

/**
 * A real run of the Debian kdump-tools e2e (e2e/debian/), saved by hand from its disk (SOURCE says which
 * run): `audit --json` in the guest's first kernel before the crash, the drivers each function had once
 * the capture kernel's udev settled, and the agent's report from that capture kernel. The comparison the
 * e2e makes (same functions, same verdicts, the same reset method on the same target) is replayed here,
 * so a change to compareWithCapture fails without a QEMU run. The audit's own model is not re-run here
 * (the first kernel's tree was not saved): a change to it is caught by the e2e itself, which audits
 * the guest before every crash (e2e/debian/check.mjs).
 */
const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/audit/debian-kdump-tools');
const read = (f: string): string => fs.readFileSync(path.join(DIR, f), 'utf8');

describe('the Debian kdump-tools guest: prediction against its capture kernel', () => {
  const audit = JSON.parse(read('audit.json')) as AuditReport;
  const drivers = parseDriverList(read('capture-drivers.txt'), 'capture-drivers.txt');
  const agent = JSON.parse(read('report.json')) as ApplyReport;

  it('every function as predicted', () => {
    const rows = compareWithCapture(audit, { drivers, agent });
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(rows.map((r) => r.bdf).sort()).toEqual(Object.keys(drivers).sort());
  });

  it('covers functions whose driver the kdump image lacks: the capture kernel loaded it from the root file system', () => {
    const fromRoot = audit.devices.filter((d) => d.capture === 'root');
    expect(fromRoot.length).toBeGreaterThan(0);
    for (const d of fromRoot) {
      expect(d.imageModules).toEqual([]);
      expect(d.rootModules.length).toBeGreaterThan(0);
      // Bound there (under the module's name, or i2c_i801's "i801_smbus"): the comparison above says it is theirs.
      expect(drivers[d.bdf]).not.toBeNull();
    }
  });

  it('the model without switch_root (capture "none" for those) would have been wrong on this machine', () => {
    const asIfInitramfsOnly = { ...audit, devices: audit.devices.map((d) => (d.capture === 'root' ? { ...d, capture: 'none' as const, rootModules: [] } : d)) };
    const wrong = compareWithCapture(asIfInitramfsOnly, { drivers, agent }).filter((r) => !r.ok);
    expect(wrong.length).toBeGreaterThan(0);
    expect(wrong.every((r) => r.why === 'predicted no driver in the capture kernel, but one bound')).toBe(true);
  });

  it('a difference is caught: a function that lost its driver', () => {
    const bdf = audit.devices.find((d) => d.capture === 'root')!.bdf;
    const rows = compareWithCapture(audit, { drivers: { ...drivers, [bdf]: null }, agent });
    expect(rows.filter((r) => !r.ok).map((r) => r.bdf)).toEqual([bdf]);
  });
});

describe('the harness\'s driver list', () => {
  it('reads "<bdf> [<driver>]" lines and names the file and line of a bad one', () => {
    expect(parseDriverList('0000:00:00.0 \n0000:01:00.0 e1000e\n\n', 'x')).toEqual({ '0000:00:00.0': null, '0000:01:00.0': 'e1000e' });
    expect(() => parseDriverList('0000:00:00.0\nnonsense here\n', 'capture-drivers.txt')).toThrow(/^capture-drivers\.txt:2: expected "<bdf> \[<driver>\]"/);
  });
});
