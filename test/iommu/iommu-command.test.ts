import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main.js';
import { cleanupRoots, dmesg, writeScenario, VTD_GSTS } from './mock-roots.js';
import { qemuQ35Dmar } from './acpi-bytes.js';
import { unwrap } from '../helpers/unwrap.js';

afterAll(cleanupRoots);
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, out, err };
}

const scenario = () =>
  writeScenario({
    capture: true,
    cmdline: 'reset_devices intel_iommu=on',
    tables: { DMAR: qemuQ35Dmar() },
    sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000' }],
    kmsg: dmesg('Linux version 6.1.0-56-amd64 (x)', 'DMAR: Translation already enabled - trying to copy translation structures', 'DMAR: Copied translation tables from previous kernel for dmar0', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
    mem: [{ base: 0xfed90000n, values: { [VTD_GSTS]: [4, 0xc7000000], 0x20: [8, 0x7ffe000n] } }],
  });

describe('pci-reset-agent iommu', () => {
  it('prints the short report', async () => {
    const { dir } = scenario();
    const r = await run(['iommu', '--root', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('capture kernel: yes (/proc/vmcore, elfcorehdr=)');
    expect(unwrap(r.out)).toContain('dmar0 @ fed90000: translation ON (GSTS.TES, copied tables from previous kernel, on in the crashed kernel) → case 4');
    expect(r.out).toContain('case 4: on in both kernels');
  });

  it('prints the JSON document with the contract fields', async () => {
    const { dir } = scenario();
    const r = await run(['iommu', '--root', dir, '--json']);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ captureKernel: true, case: '4' });
    expect(doc.units[0]).toMatchObject({ name: 'dmar0', vendor: 'intel', registerBase: '0xfed90000', translationEnabledNow: true, translationEnabledBefore: true, tablesCopied: true });
    expect(doc.evidence.every((e: { source: string; fact: string }) => typeof e.source === 'string' && typeof e.fact === 'string')).toBe(true);
  });

  it('--no-registers and --kmsg FILE', async () => {
    const { dir } = scenario();
    const r = await run(['iommu', '--root', dir, '--json', '--no-registers', '--kmsg', `${dir}/dev/kmsg`]);
    const doc = JSON.parse(r.out);
    expect(doc.sources.registers).toBeNull();
    expect(doc.sources.kmsg).toBe(`kmsg:${dir}/dev/kmsg`);
    expect(doc.units[0].basis.now).toMatch(/^logged/);
  });

  it('a missing root is one line on stderr and status 1', async () => {
    const r = await run(['iommu', '--root', '/nonexistent-root-for-test']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('pci-reset-agent: --root /nonexistent-root-for-test: does not exist\n');
  });
});

/** Regression: `iommu` failed outright without sys/bus/pci/devices, though the verdict needs no PCI listing. */
describe('iommu without a PCI listing', () => {
  it('gives its verdict, the listing named among the problems', async () => {
    const { dir } = scenario();
    fs.rmSync(path.join(dir, 'sys/bus/pci/devices'), { recursive: true, force: true });
    const r = await run(['iommu', '--root', dir, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { case: string; problems: string[] };
    expect(report.case).toBe('4');
    expect(report.problems).toContainEqual(expect.stringMatching(/sys\/bus\/pci\/devices: cannot list PCI functions: no such file or directory \(ENOENT\): no PCI function was read; the verdict stands/));
  });

  it('a link loop at sys/bus: the same', async () => {
    const { dir } = scenario();
    fs.rmSync(path.join(dir, 'sys/bus'), { recursive: true, force: true });
    fs.symlinkSync('bus', path.join(dir, 'sys/bus'));
    const r = await run(['iommu', '--root', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('case 4: on in both kernels');
  });
});
