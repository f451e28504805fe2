import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTree } from '../../src/mock/examples/generated.js';
import { laptopTree } from '../../src/mock/examples/laptop.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import type { Plan } from '../../src/plan/plan.js';
import { cleanup, fingerprint, runCli, tempDir } from './helpers.js';

afterAll(cleanup);

let server: string;
let kdumpServer: string;
let laptop: string;
let big: string;
beforeAll(() => {
  server = tempDir('pra-cli-');
  serverTree().write(server);
  // The same server as the kdump initramfs sees it before udev: only built-in drivers (nvme, pcieport) bound.
  kdumpServer = tempDir('pra-cli-');
  const builtIn = new Set(['nvme', 'pcieport']);
  new MockTree()
    .addAll(serverTree().functions.map((f) => (f.driver && !builtIn.has(f.driver) ? { ...f, driver: undefined } : f)))
    .file('proc/vmcore', '')
    .write(kdumpServer);
  laptop = tempDir('pra-cli-');
  laptopTree().write(laptop);
  big = tempDir('pra-cli-');
  generatedTree(300).write(big);
});

describe('plan', () => {
  it('--json holds the contract fields, every function exactly once, and writes nothing', async () => {
    const before = fingerprint(server);
    const r = await runCli(['plan', '--root', server, '--json']);
    expect(r.code).toBe(0);
    expect(fingerprint(server)).toBe(before);
    const plan = JSON.parse(r.stdout) as Plan;
    expect(Object.keys(plan)).toEqual(expect.arrayContaining(['iommuCase', 'steps', 'unresettable', 'excluded']));
    for (const s of plan.steps) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['id', 'method', 'target', 'functions', 'independentOf', 'wave', 'reasons']));
      expect(s.reasons.length).toBeGreaterThan(0);
    }
    const all = [...plan.steps.flatMap((s) => s.functions), ...plan.unresettable.map((e) => e.bdf), ...plan.excluded.map((e) => e.bdf)];
    expect(all.sort()).toEqual(fs.readdirSync(path.join(server, 'sys/bus/pci/devices')).sort());
  });

  it('the human view fits 80 columns and shows steps, blast radius and reasons in the tree', async () => {
    for (const root of [server, kdumpServer, laptop, big]) {
      const r = await runCli(['plan', '--root', root]);
      expect(r.code).toBe(0);
      const long = r.stdout.split('\n').filter((l) => [...l].length > 80);
      expect(long).toEqual([]);
      expect(r.stdout).toContain('This is a plan: nothing has been written.');
    }
    const r = await runCli(['plan', '--root', kdumpServer]);
    expect(r.stdout).toContain('=> step');
    expect(r.stdout).toMatch(/0000:00:1c\.0 8086:a190 PCI bridge \[pcieport\]\n│  │  => step \d+ \(wave 1\): secondary bus reset of the 2 functions below/);
    expect(r.stdout).toContain('-> reset by step');
    // Live, snd_hda_intel is bound to the GPU's HDA function: no raw bus reset under it, so the GPU is unresettable.
    const live = await runCli(['plan', '--root', server]);
    expect(live.stdout).toMatch(/0000:08:00\.0 1002:67df VGA controller\n.*!! UNRESETTABLE/);
    // The Atheros card (no bus reset, ever) gets its PM reset through the kernel.
    const lap = await runCli(['plan', '--root', laptop]);
    expect(lap.stdout).toMatch(/0000:2c:00\.0 168c:003e Network controller \[ath10k_pci\]\n.*=> step \d+ \(wave 1\): the kernel's reset file \(pm first\)/);
  });

  it('--only, --exclude and --all are honoured; a bad selector is a usage error', async () => {
    const only = JSON.parse((await runCli(['plan', '--root', server, '--json', '--only', '01:00.0'])).stdout) as Plan;
    expect(only.steps.map((s) => s.target)).toEqual(['0000:01:00.0']);
    const ex = JSON.parse((await runCli(['plan', '--root', server, '--json', '--exclude', 'class=02,1002:*'])).stdout) as Plan;
    expect(ex.steps.some((s) => s.functions.includes('0000:05:00.0') || s.functions.includes('0000:08:00.0'))).toBe(false);
    const bad = await runCli(['plan', '--root', server, '--only', 'nonsense']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('pci-reset-agent: "nonsense" is not a selector: expected a BDF (0000:01:00.0 or 01:00.0), vendor:device (8086:1572, 8086:*) or class=CC[SS[PP]] (class=0108)\n(see: pci-reset-agent plan --help)\n');
    const waves = await runCli(['plan', '--root', server, '--wave-size', '0']);
    expect(waves.code).toBe(2);
  });

  it('a broken admin table stops plan on a live system but not in a capture kernel', async () => {
    const root = tempDir('pra-cli-');
    serverTree().write(root);
    fs.mkdirSync(path.join(root, 'etc/pci-reset-agent/quirks.d'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/pci-reset-agent/quirks.d/50-site.quirks'), '1000:005d prefer=bus,reboot reason="x"\n');
    const live = await runCli(['plan', '--root', root]);
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/^pci-reset-agent: .*50-site\.quirks:1:22: unknown method "reboot"/);
    fs.mkdirSync(path.join(root, 'proc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'proc/vmcore'), '');
    const kdump = await runCli(['plan', '--root', root, '--json']);
    expect(kdump.code).toBe(0);
    expect(kdump.stderr).toContain('WARNING: QUIRK TABLE REFUSED');
    expect((JSON.parse(kdump.stdout) as Plan).steps.length).toBeGreaterThan(0);
  });

  it('an admin table changes the plan, and --quirks adds one', async () => {
    const file = path.join(tempDir('pra-cli-'), 'site.quirks');
    fs.writeFileSync(file, '1000:005d prefer=bus reason="our MegaRAID firmware ignores PM reset"\n');
    const plan = JSON.parse((await runCli(['plan', '--root', server, '--json', '--quirks', file])).stdout) as Plan;
    const raid = plan.steps.find((s) => s.functions.includes('0000:09:00.0'))!;
    expect(raid.method).toBe('kernel:bus');
    expect(raid.reasons.join('\n')).toContain(`quirk ${file}:1: our MegaRAID firmware ignores PM reset`);
  });
});

describe('explain', () => {
  it('shows every input behind one function, and writes nothing', async () => {
    const before = fingerprint(server);
    const r = await runCli(['explain', '08:00.0', '--root', server]);
    expect(r.code).toBe(0);
    expect(fingerprint(server)).toBe(before);
    expect(r.stdout).toContain('0000:08:00.0 1002:67df VGA controller (030000) rev c7');
    expect(r.stdout).toContain('quirk_no_pm_reset');
    expect(r.stdout).toMatch(/no  pm +forbidden: quirk default\.quirks:\d+/);
    expect(r.stdout).toContain('Decision: UNRESETTABLE');
    expect(r.stdout).toMatch(/no  bus +a raw secondary bus reset of 0000:00:1c\.0 would\s+also reset 0000:08:00\.1, which has driver\s+snd_hda_intel bound/);
    const kdump = await runCli(['explain', '08:00.0', '--root', kdumpServer]);
    expect(kdump.stdout).toContain('Decision: reset by step');
    expect(r.stdout.split('\n').filter((l) => [...l].length > 80)).toEqual([]);
    const bridge = await runCli(['explain', '0000:00:1c.0', '--root', server]);
    expect(bridge.stdout).toContain('As a bridge:');
    expect(bridge.stdout).toMatch(/never a raw one \(Bridge\s+Control, reset_subordinate\): a raw\s+secondary\s+bus\s+reset\s+of\s+0000:00:1c\.0\s+would\s+also\s+reset\s+0000:08:00\.1/);
    expect(bridge.stdout).toContain('Decision: excluded');
    const json = JSON.parse((await runCli(['explain', '09:00.0', '--root', server, '--json'])).stdout);
    expect(json.outcome.kind).toBe('step');
    expect(json.verdicts.length).toBeGreaterThan(0);
  });

  it('an unknown or malformed BDF is a clear error', async () => {
    const r = await runCli(['explain', '0000:42:00.0', '--root', server]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pci-reset-agent: 0000:42:00\.0: no such function under /);
    const bad = await runCli(['explain', 'nope', '--root', server]);
    expect(bad.code).toBe(2);
  });
});
