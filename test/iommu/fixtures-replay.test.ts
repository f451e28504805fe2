import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { scan } from '../../src/scan/scan.js';
import { assessIommu } from '../../src/iommu/assess.js';
import type { IommuCase } from '../../src/iommu/iommu-report.js';

/**
 * Ground truth from real kernels: each directory under test/fixtures/iommu/ is what a real capture kernel
 * saw in the QEMU e2e matrix (e2e/driver.mjs --fixtures): the agent's `capture` snapshot (root/), the
 * crashed kernel's log as vmcore-dmesg printed it (old-log.txt), the unit registers read with devmem
 * (registers.txt), and the verdict the agent gave in the guest (iommu.json). Each SOURCE says where it came
 * from. The replay must give the case the scenario set up, from the logs and sysfs alone and again with
 * the registers.
 */
const DIR = path.resolve(import.meta.dirname, '../fixtures/iommu');
const fixtures = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((d) => fs.existsSync(path.join(DIR, d, 'root'))).sort() : [];

/** What each scenario set up (e2e/driver.mjs), by the fixture name's scenario part. */
const EXPECTED: Record<string, { case: IommuCase; unit: string | null; copied?: boolean; passthroughBefore?: boolean; note?: RegExp; smmuOutcome?: string }> = {
  'vtd-legacy': { case: '4', unit: 'dmar0', copied: true },
  'vtd-scalable': { case: '4', unit: 'dmar0', copied: true },
  'vtd-sm-mismatch': { case: '4', unit: 'dmar0', copied: false, note: /window during boot/ },
  amd: { case: '4', unit: 'ivhd0', copied: true },
  pt: { case: '4', unit: 'dmar0', copied: true, passthroughBefore: true },
  'capture-vtd-off': { case: '3b', unit: 'dmar0', copied: false },
  'no-iommu': { case: '1', unit: null },
  // arm64 under QEMU virt,iommu=smmuv3 (e2e/arm64/run.sh): mainline resets the enabled SMMU in the capture kernel.
  smmuv3: { case: '4', unit: 'smmu3.0x0000000009050000', smmuOutcome: 'aborted' },
};

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

/** registers.txt lines ("dmar0 GSTS 0xC7000000 RTADDR 0x…", "ivhd0 DEV_TABLE 0x… CONTROL 0x…") as a sparse dev/mem. */
function memFromRegisters(text: string, into: string): number {
  const at: [bigint, 4 | 8, bigint][] = [];
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    const val = (k: string): bigint | null => {
      const i = w.indexOf(k);
      return i >= 0 && /^0x[0-9a-f]+$/i.test(w[i + 1] ?? '') ? BigInt(w[i + 1]!) : null;
    };
    if (w[0] === 'dmar0') {
      const g = val('GSTS');
      const r = val('RTADDR');
      if (g !== null) at.push([0xfed9001cn, 4, g]);
      if (r !== null) at.push([0xfed90020n, 8, r]);
      // VER/CAP/ECAP as QEMU's intel-iommu has them, so the window is not all ones.
      at.push([0xfed90000n, 4, 0x10n]);
    } else if (/^smmu3\.0x[0-9a-f]+$/i.test(w[0] ?? '')) {
      // arm64 (e2e/arm64/init): "smmu3.0x0000000009050000 IDR0 0x… CR0 0x… GBPA 0x… GERROR 0x… GERRORN 0x…
      // STRTAB_BASE 0x… STRTAB_BASE_CFG 0x…", at the arm-smmu-v3.h offsets from the unit's base.
      const base = BigInt(w[0]!.slice('smmu3.'.length));
      const regs: [string, bigint, 4 | 8][] = [['IDR0', 0x0n, 4], ['CR0', 0x20n, 4], ['GBPA', 0x44n, 4], ['GERROR', 0x60n, 4], ['GERRORN', 0x64n, 4], ['STRTAB_BASE', 0x80n, 8], ['STRTAB_BASE_CFG', 0x88n, 4]];
      for (const [name, off, width] of regs) {
        const v = val(name);
        if (v !== null) at.push([base + off, width, v]);
      }
    } else if (w[0] === 'ivhd0') {
      const d = val('DEV_TABLE');
      const c = val('CONTROL');
      if (d !== null) at.push([0xfed80000n, 8, d]);
      if (c !== null) at.push([0xfed80018n, 8, c]);
      // EFR (0x30) was not read in the guest: zero, so the window is complete.
      at.push([0xfed80030n, 8, 0n]);
    }
  }
  if (!at.length) return 0;
  fs.mkdirSync(path.join(into, 'dev'), { recursive: true });
  const fd = fs.openSync(path.join(into, 'dev/mem'), 'w');
  for (const [addr, width, v] of at) {
    const b = Buffer.alloc(width);
    if (width === 4) b.writeUInt32LE(Number(v));
    else b.writeBigUInt64LE(v);
    fs.writeSync(fd, b, 0, width, Number(addr));
  }
  fs.closeSync(fd);
  return at.length;
}

describe('replay of real capture kernels (test/fixtures/iommu)', () => {
  // Until `npm run test:e2e -- --all` (with PRA_E2E_FIXTURES=test/fixtures/iommu) has filled the directory
  // there is nothing to replay; said so rather than passing silently.
  it.skipIf(fixtures.length === 0)('fixtures are present, each with a SOURCE line', () => {
    for (const f of fixtures) expect(fs.readFileSync(path.join(DIR, f, 'SOURCE'), 'utf8')).toMatch(/^Captured .* by e2e\/(driver\.mjs scenario |arm64\/run\.sh: )/);
  });

  for (const f of fixtures) {
    const scenario = f.replace(/-\d+\.\d+$/, '');
    const exp = EXPECTED[scenario];
    it(`${f}: case ${exp?.case ?? '?'} from the logs and sysfs, and again with the registers read in the guest`, async () => {
      expect(exp, `no expectation for scenario ${scenario}`).toBeDefined();
      const rootDir = path.join(DIR, f, 'root');
      const oldLog = path.join(DIR, f, 'old-log.txt');
      const root = new Root(rootDir);
      const s = scan(new SysfsAccess(root), rootDir);
      const plain = await assessIommu(root, s, { oldLogFile: fs.existsSync(oldLog) ? oldLog : undefined, readRegisters: false });
      expect(plain.captureKernel).toBe(true);
      expect(plain.case, JSON.stringify(plain.missing)).toBe(exp!.case);
      if (exp!.unit) {
        const u = plain.units.find((x) => x.name === exp!.unit)!;
        expect(u, `unit ${exp!.unit}`).toBeDefined();
        if (exp!.copied !== undefined) expect(u.tablesCopied).toBe(exp!.copied);
        if (exp!.note) expect(u.notes!.join('\n')).toMatch(exp!.note);
        if (exp!.smmuOutcome) expect(u.smmu?.outcome, JSON.stringify(u.smmu)).toBe(exp!.smmuOutcome);
      } else {
        // No unit: proved from the ACPI tables directory the capture listed (no DMAR/IVRS/IORT/VIOT among its
        // tables), not from a snapshot that lacks the directory.
        expect(plain.units).toEqual([]);
        const listing = fs.readFileSync(path.join(rootDir, 'sys/firmware/acpi/tables/.pra-capture-listing'), 'utf8').split('\n');
        expect(listing).toContain('APIC');
        expect(listing.filter((t) => ['DMAR', 'IVRS', 'IORT', 'VIOT'].includes(t))).toEqual([]);
        expect(plain.evidence.map((e) => e.fact).join('\n')).toMatch(/this machine has no IOMMU/);
      }
      if (exp!.passthroughBefore !== undefined) {
        // The crashed kernel's identity domains come from its log (old-log.txt); the devices are flagged.
        expect(plain.passthrough.before, JSON.stringify(plain.passthrough)).toBe(exp!.passthroughBefore);
        if (exp!.passthroughBefore) expect(plain.devices.filter((d) => d.passthrough === true).length).toBeGreaterThan(0);
      }
      expect(plain.conflicts.filter((c) => /left unknown/.test(c))).toEqual([]);

      // The same root with the registers the guest read (a sparse dev/mem at the units' addresses).
      const regs = path.join(DIR, f, 'registers.txt');
      if (fs.existsSync(regs)) {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'iommu-fixture-'));
        tmp.push(copy);
        fs.cpSync(rootDir, copy, { recursive: true, verbatimSymlinks: true });
        if (memFromRegisters(fs.readFileSync(regs, 'utf8'), copy) > 0) {
          const r2 = new Root(copy);
          const withRegs = await assessIommu(r2, scan(new SysfsAccess(r2), copy), { oldLogFile: fs.existsSync(oldLog) ? oldLog : undefined });
          expect(withRegs.sources.registers).toBe('mmio:dev/mem');
          expect(withRegs.case, JSON.stringify(withRegs.missing)).toBe(exp!.case);
        }
      }
      // And the agent in the guest said the same.
      const inGuest = path.join(DIR, f, 'iommu.json');
      if (fs.existsSync(inGuest)) expect(JSON.parse(fs.readFileSync(inGuest, 'utf8')).case).toBe(exp!.case);
    });
  }
});
