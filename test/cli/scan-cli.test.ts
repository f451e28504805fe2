import { describe, expect, it } from 'vitest';
import { serverTree } from '../../src/mock/examples/server.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';

describe('pci-reset-agent scan', () => {
  it('--json prints the contract document', async () => {
    const root = serverTree().write(tmpDir());
    const r = await runCli(['scan', '--root', root, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.devices).toHaveLength(29);
    expect(Object.keys(doc.devices[0]).slice(0, 23)).toEqual([
      'bdf', 'vendor', 'device', 'class', 'revision', 'subsystemVendor', 'subsystemDevice', 'headerType', 'multiFunction',
      'parent', 'secondaryBus', 'subordinateBus', 'pcieType', 'capabilities', 'extendedCapabilities', 'flr', 'afFlr', 'pm',
      'resetMethods', 'inferredResetMethods', 'driver', 'iommuGroup', 'problems',
    ]);
  });

  it('the human view is a topology tree with IDs, drivers and reset methods', async () => {
    const root = serverTree().write(tmpDir());
    const r = await runCli(['scan', '--root', root]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[0000:00] root bus');
    expect(r.stdout).toMatch(/│  └─ 0000:01:00\.0 144d:a808 NVMe controller endpoint \[nvme\]  reset: flr,bus/);
    expect(r.stdout).toContain('(kernel also lists bus: would fail)');
  });

  it('a missing --root is one line on stderr and exit status 1', async () => {
    const r = await runCli(['scan', '--root', '/nonexistent/pra']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pci-reset-agent: --root /nonexistent/pra: does not exist\n');
    expect(r.stdout).toBe('');
  });

  it('a root without sys/bus/pci is one line naming the path', async () => {
    const r = await runCli(['scan', '--root', tmpDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pci-reset-agent: .*sys\/bus\/pci\/devices: cannot list PCI functions: no such file or directory \(ENOENT\)\n$/);
  });

  it('an unknown option is a usage error, status 2', async () => {
    const r = await runCli(['scan', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });
});
