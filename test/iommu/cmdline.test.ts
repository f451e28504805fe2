import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { disablesDriver, parseIommuOptions, parseKdumpWords, splitCmdline } from '../../src/iommu/cmdline.js';
import { detectCaptureKernel } from '../../src/iommu/capture-kernel.js';
import { Root } from '../../src/access/root.js';

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('kernel command line', () => {
  it('splits like next_arg(), quotes included, stopping at --', () => {
    expect(splitCmdline('a=1 b="x y" "c=d e" -- intel_iommu=off').map((w) => [w.name, w.value])).toEqual([
      ['a', '1'],
      ['b', 'x y'],
      ['c', 'd e'],
      ['--', null],
    ]);
  });

  it('parses every IOMMU option, later words overriding earlier ones', () => {
    const o = parseIommuOptions('intel_iommu=off intel_iommu=on,igfx_off,sm_on amd_iommu=off,force_isolation iommu=pt iommu.strict=1 iommu.passthrough=0 intremap=off');
    expect(o).toMatchObject({ intel: 'on', intelFlags: ['igfx_off', 'sm_on'], amd: 'off', amdFlags: ['force_isolation'], iommuOff: false, passthrough: false, strict: true, irqRemapOff: true });
    expect(o.words).toEqual(['intel_iommu=off', 'intel_iommu=on,igfx_off,sm_on', 'amd_iommu=off,force_isolation', 'iommu=pt', 'iommu.strict=1', 'iommu.passthrough=0', 'intremap=off']);
    expect(parseIommuOptions('iommu=off').iommuOff).toBe(true);
    expect(parseIommuOptions('iommu.passthrough=y iommu.strict=off').passthrough).toBe(true);
    expect(parseIommuOptions('nointremap').irqRemapOff).toBe(true);
    expect(parseIommuOptions('root=/dev/sda1 -- intel_iommu=off').intel).toBeNull();
  });

  it('knows which options switch a driver off', () => {
    expect(disablesDriver(parseIommuOptions('intel_iommu=off'), 'intel')).toBe(true);
    expect(disablesDriver(parseIommuOptions('intel_iommu=off'), 'amd')).toBe(false);
    expect(disablesDriver(parseIommuOptions('iommu=off'), 'amd')).toBe(true);
    expect(disablesDriver(parseIommuOptions('iommu=pt'), 'intel')).toBe(false);
  });

  it('reads the kdump words', () => {
    expect(parseKdumpWords('irqpoll reset_devices elfcorehdr=1654132K')).toEqual({ elfcorehdr: '1654132K', resetDevices: true, crashkernel: null });
    expect(parseKdumpWords('crashkernel=384M').crashkernel).toBe('384M');
  });
});

describe('capture kernel detection', () => {
  const root = (files: Record<string, string>): Root => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iommu-ck-'));
    tmp.push(dir);
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
    return new Root(dir);
  };

  it('vmcore and elfcorehdr', () => {
    const f = detectCaptureKernel(root({ 'proc/vmcore': '', 'proc/cmdline': 'reset_devices elfcorehdr=0x7d000000\n' }));
    expect(f.captureKernel).toBe(true);
    expect(f.evidence.map((e) => e.source)).toEqual(['proc/vmcore', 'proc/cmdline', 'proc/cmdline']);
    expect(f.problems).toEqual([]);
  });

  it('elfcorehdr alone is enough; reset_devices alone is not', () => {
    expect(detectCaptureKernel(root({ 'proc/cmdline': 'elfcorehdr=1654132K' })).captureKernel).toBe(true);
    const hint = detectCaptureKernel(root({ 'proc/cmdline': 'reset_devices' }));
    expect(hint.captureKernel).toBe(false);
    expect(hint.evidence).toContainEqual({ source: 'proc/cmdline', fact: 'reset_devices (a hint only: users can set it anywhere)' });
  });

  it('vmcore without elfcorehdr is trusted and noted', () => {
    const f = detectCaptureKernel(root({ 'proc/vmcore': '', 'proc/cmdline': 'quiet' }));
    expect(f.captureKernel).toBe(true);
    expect(f.problems[0]).toMatch(/no elfcorehdr=; trusting \/proc\/vmcore/);
  });

  it('a missing proc/cmdline is a problem', () => {
    expect(detectCaptureKernel(root({})).problems).toEqual(['proc/cmdline: missing; kernel options unknown']);
  });
});
