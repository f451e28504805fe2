import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/audit-report.js';
import { EXIT } from '../../src/errors/exit-codes.js';
import { kdumpServerTree } from '../../src/mock/examples/kdump-server.js';
import { concat, newcArchive, withParents } from '../../src/mock/kdump-image.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { parseExposition } from './exposition.js';
import { hasTool } from '../helpers/has-tool.js';

let server: string;
beforeAll(() => {
  server = fs.mkdtempSync('/tmp/pra-audit-');
  kdumpServerTree().write(server);
});

/** Real promtool when the machine has one (Debian: the prometheus package), else null. */
function promtool(): string | null {
  for (const p of [process.env.PROMTOOL, '/usr/bin/promtool'].filter(Boolean) as string[]) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return p;
    } catch {
      // not there
    }
  }
  return null;
}

describe('audit on the kdump-server example', () => {
  it('the headline first, at-risk status 7, every line within 80 columns', async () => {
    const r = await runCli(['audit', '--root', server]);
    expect(r.code).toBe(EXIT.AUDIT_AT_RISK);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('kdump readiness: 1 device will keep doing DMA in the capture kernel');
    expect(lines[1]).toBe('  (0000:08:00.0 1002:67df VGA controller, driver disabled, no safe reset)');
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    expect(r.stdout).toMatch(/agent: +in the image \(usr\/lib\/pci-reset-agent\/pci-reset-agent\.mjs, version\s+0\.1\.0, node squashfs, 1 admin table\(s\)\)/);
  });

  it('--json: verdicts per function, the image, the command line kdump-tools will use', async () => {
    const r = await runCli(['audit', '--root', server, '--json']);
    const j = JSON.parse(r.stdout) as AuditReport;
    expect(j.schema).toBe('pci-reset-agent/audit/1');
    expect(j.ready).toBe(false);
    expect(j.kdump.tool).toBe('kdump-tools');
    expect(j.kdump.cmdline).toMatch(/intel_iommu=on iommu=pt reset_devices systemd\.unit=kdump-tools-dump\.service nr_cpus=1 irqpoll usbcore\.nousb modprobe\.blacklist=amdgpu$/);
    expect(j.kdump.cmdline).not.toMatch(/crashkernel/);
    expect(j.image.segments.map((s) => s.compression)).toEqual(['none', 'gzip']);
    const by = new Map(j.devices.map((d) => [d.bdf, d]));
    expect(by.get('0000:08:00.0')).toMatchObject({ verdict: 'keeps-dma', capture: 'none', firstKernelModules: ['amdgpu'], disabledModules: ['amdgpu'], modaliasSource: 'config' });
    expect(by.get('0000:01:00.0')).toMatchObject({ verdict: 'agent', capture: 'image', imageModules: ['nvme'] });
    // mlx5_core is not in the image; kdump-tools' capture kernel loads it from the root file system.
    expect(by.get('0000:05:00.0')).toMatchObject({ verdict: 'agent', capture: 'root', rootModules: ['mlx5_core'], firstKernelModules: ['mlx5_core'] });
    // xhci_pci is built in, but usbcore.nousb (kdump-tools' default) keeps it from probing.
    expect(by.get('0000:00:14.0')).toMatchObject({ capture: 'none', disabledModules: ['xhci_pci'] });
    expect(by.get('0000:00:02.0')!.verdict).toBe('harmless');
    expect(j.counts).toEqual({ agent: 14, driver: 0, harmless: 14, 'keeps-dma': 1, unknown: 0 });
    expect(j.iommu.prediction).toBe(true);
    expect(j.crashkernel).toMatchObject({ reservedBytes: 536870912, source: 'sys/kernel/kexec_crash_size', covers: true });
  });

  it('kdump-tools boots the root file system: a driver the image lacks still binds there, after switch_root', async () => {
    const root = tmpDir();
    kdumpServerTree().file('etc/default/kdump-tools', 'USE_KDUMP=1\n').write(root);
    const j = JSON.parse((await runCli(['audit', '--root', root, '--json'])).stdout) as AuditReport;
    const gpu = j.devices.find((d) => d.bdf === '0000:08:00.0')!;
    expect(gpu).toMatchObject({ verdict: 'driver', capture: 'root', imageModules: [], rootModules: ['amdgpu'], disabledModules: [] });
    expect(gpu.reason).toMatch(/^its driver amdgpu \(not in the image: loaded from the root file system after switch_root/);
    expect(j.counts['keeps-dma']).toBe(0);
  });

  it('--prometheus writes the textfile atomically; the exposition parses (and passes promtool when present)', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'pci_reset_agent.prom');
    fs.writeFileSync(file, 'old\n');
    const r = await runCli(['audit', '--root', server, '--prometheus', file]);
    expect(r.code).toBe(EXIT.AUDIT_AT_RISK);
    expect(fs.readdirSync(dir)).toEqual(['pci_reset_agent.prom']);
    const text = fs.readFileSync(file, 'utf8');
    const samples = parseExposition(text);
    expect(samples.find((s) => s.name === 'pci_reset_agent_kdump_ready')!.value).toBe(0);
    expect(samples.filter((s) => s.name === 'pci_reset_agent_kdump_device')).toHaveLength(29);
    expect(samples).toContainEqual({ name: 'pci_reset_agent_kdump_device', labels: { bdf: '0000:08:00.0', vendor: '1002', device: '67df', verdict: 'keeps-dma' }, value: 1 });
    const tool = promtool();
    if (tool) execFileSync(tool, ['check', 'metrics'], { input: text });
  });

  it('--prometheus into a missing directory is one clear error, status 1', async () => {
    const r = await runCli(['audit', '--root', server, '--prometheus', '/nonexistent-dir/x.prom']);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stderr).toMatch(/^pci-reset-agent: --prometheus \/nonexistent-dir\/x\.prom: ENOENT/);
  });
});

describe('audit against built kdump images', () => {
  const build = (opts: { agent: boolean; compress?: (b: Uint8Array) => Uint8Array }): string => {
    const root = tmpDir();
    const main = newcArchive(
      withParents([
        { name: 'usr/lib/modules/6.12.0/modules.alias', data: 'alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\nalias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci\n' },
        { name: 'usr/lib/modules/6.12.0/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz', data: 'x' },
        { name: 'usr/lib/modules/6.12.0/kernel/drivers/virtio/virtio_pci.ko.xz', data: 'x' },
        ...(opts.agent ? [{ name: 'usr/lib/pci-reset-agent/pci-reset-agent.mjs', data: ".version('9.9.9')" }] : []),
      ]),
    );
    const image = concat([newcArchive([{ name: 'kernel/x86/microcode/AuthenticAMD.bin', data: 'u' }]), opts.compress ? opts.compress(main) : main]);
    const t = new MockTree()
      .add({ bdf: '0000:00:00.0', vendor: 0x8086, device: 0x29c0, classCode: 0x060000 })
      .add({ bdf: '0000:00:02.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, pcie: { type: 'rc_integrated_endpoint', flr: false }, driver: 'e1000e' })
      .add({ bdf: '0000:00:03.0', vendor: 0x1af4, device: 0x1000, classCode: 0x020000, pcie: { type: 'rc_integrated_endpoint', flr: true }, driver: 'virtio-pci' })
      .add({ bdf: '0000:00:04.0', vendor: 0x10de, device: 0x2204, classCode: 0x030000, pcie: { type: 'rc_integrated_endpoint' }, driver: 'nvidia', resetMethod: [] })
      .file('proc/sys/kernel/osrelease', '6.12.0\n')
      .file('proc/cmdline', 'root=/dev/vda ro crashkernel=256M\n')
      .file('etc/default/kdump-tools', 'USE_KDUMP=1\n')
      .file('var/lib/kdump/initrd.img-6.12.0', image);
    t.write(root);
    // The kernel's own modalias files (pci-sysfs.c modalias_show()).
    fs.writeFileSync(path.join(root, 'sys/bus/pci/devices/0000:00:02.0/modalias'), 'pci:v00008086d000010D3sv00000000sd00000000bc02sc00i00\n');
    return root;
  };

  for (const tool of ['zstd', 'xz'] as const) {
    // Skipped, and counted as skipped, without the tool (.ci/run installs both).
    it.skipIf(!hasTool(tool))(`${tool} image without the agent: drivers from the image, the NVIDIA GPU keeps doing DMA`, async () => {
      const root = build({ agent: false, compress: (b) => execFileSync(tool, tool === 'xz' ? ['--check=crc32', '-c'] : ['-q', '-c'], { input: b }) });
      const r = await runCli(['audit', '--root', root, '--json']);
      const j = JSON.parse(r.stdout) as AuditReport;
      expect(r.code).toBe(EXIT.AUDIT_AT_RISK);
      expect(j.image.segments.map((s) => s.compression)).toEqual(['none', tool]);
      expect(j.image.agent!.bundle).toBeNull();
      expect(j.warnings.join('\n')).toMatch(/the agent is not in the kdump image/);
      const by = new Map(j.devices.map((d) => [d.bdf, d]));
      expect(by.get('0000:00:02.0')).toMatchObject({ verdict: 'driver', modaliasSource: 'sysfs', imageModules: ['e1000e'], driverStops: { module: 'e1000e', kind: 'probe' } });
      expect(by.get('0000:00:03.0')).toMatchObject({ verdict: 'driver', imageModules: ['virtio_pci'] });
      expect(by.get('0000:00:04.0')!.verdict).toBe('keeps-dma');
      expect(j.headline).toMatch(/^kdump readiness: 1 device will keep doing DMA in the capture kernel \(0000:00:04\.0 10de:2204 VGA controller, no driver/);
    });
  }

  it('with the agent in the image, the agent stops what it can reset', async () => {
    const root = build({ agent: true });
    const j = JSON.parse((await runCli(['audit', '--root', root, '--json'])).stdout) as AuditReport;
    expect(j.image.agent).toMatchObject({ bundle: 'usr/lib/pci-reset-agent/pci-reset-agent.mjs', version: '9.9.9' });
    const by = new Map(j.devices.map((d) => [d.bdf, d]));
    expect(by.get('0000:00:03.0')!.verdict).toBe('agent');
  });

  it('a damaged image is a finding naming the file and offset, not a crash', async () => {
    const root = build({ agent: true });
    const img = path.join(root, 'var/lib/kdump/initrd.img-6.12.0');
    const b = fs.readFileSync(img);
    b.write('zz', 200);
    fs.writeFileSync(img, b);
    const r = await runCli(['audit', '--root', root, '--json']);
    expect(r.code).toBe(EXIT.AUDIT_AT_RISK);
    const j = JSON.parse(r.stdout) as AuditReport;
    expect(j.findings[0]).toMatch(/^the kdump image cannot be checked: var\/lib\/kdump\/initrd\.img-6\.12\.0: offset \d+: header field \d+ is not 8 hex digits/);
    expect(j.devices.find((d) => d.bdf === '0000:00:02.0')!.verdict).toBe('unknown');
  });

  it('--kdump-image and --kdump-cmdline override the tool', async () => {
    const root = build({ agent: true });
    const img = path.join(root, 'var/lib/kdump/initrd.img-6.12.0');
    const j = JSON.parse((await runCli(['audit', '--root', root, '--json', '--kdump-image', img, '--kdump-cmdline', 'ro module_blacklist=e1000e'])).stdout) as AuditReport;
    expect(j.image.path).toBe(img);
    expect(j.devices.find((d) => d.bdf === '0000:00:02.0')!.disabledModules).toEqual(['e1000e']);
  });
});

describe('audit -n', () => {
  it('prints class codes instead of class names in the device lines, as lspci -n', async () => {
    const named = await runCli(['audit', '--root', server]);
    const numeric = await runCli(['audit', '--root', server, '-n']);
    expect(named.stdout).toMatch(/0000:08:00\.0 1002:67df keeps-dma +VGA controller: /);
    expect(numeric.stdout).toMatch(/0000:08:00\.0 1002:67df keeps-dma +class 0300: /);
    expect(numeric.stdout).not.toMatch(/VGA controller: /);
    expect(numeric.code).toBe(named.code);
  });
});

describe('audit predicts the IOMMU case the capture command line makes (a live machine with VT-d on)', () => {
  it('intel_iommu=off in KDUMP_CMDLINE_APPEND: case 3b predicted, a finding naming the word and where to remove it, status 7', async () => {
    const { writeScenario, q35Functions, dmesg } = await import('../iommu/mock-roots.js');
    const { qemuQ35Dmar } = await import('../iommu/acpi-bytes.js');
    const { dir } = writeScenario({
      capture: false,
      cmdline: 'root=/dev/vda1 intel_iommu=on crashkernel=256M',
      functions: q35Functions(),
      tables: { DMAR: qemuQ35Dmar() },
      sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000', devices: q35Functions().map((f) => f.bdf) }],
      kmsg: dmesg('Linux version 6.1.0-57-amd64 (x)', 'DMAR: Intel(R) Virtualization Technology for Directed I/O'),
    });
    fs.mkdirSync(path.join(dir, 'etc/default'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'etc/default/kdump-tools'), 'USE_KDUMP=1\nKDUMP_CMDLINE_APPEND="reset_devices nr_cpus=1 intel_iommu=off"\n');
    const r = await runCli(['audit', '--root', dir, '--json']);
    const j = JSON.parse(r.stdout) as AuditReport;
    expect(r.code).toBe(EXIT.AUDIT_AT_RISK);
    expect(j.iommu.predicted).toBe('3b');
    expect(j.iommu.finding).toMatch(/intel_iommu=off/);
    expect(j.iommu.finding).toMatch(/KDUMP_CMDLINE_APPEND in \/etc\/default\/kdump-tools/);
    expect(j.findings).toContain(j.iommu.finding);
    const text = await runCli(['audit', '--root', dir]);
    expect(text.stdout.split('\n').slice(0, 3).join(' ').replace(/\s+/g, ' ')).toMatch(/IOMMU case 3b predicted|will keep doing DMA/);
  });
});
