import { describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/audit-report.js';
import { imageAgentSettings } from '../../src/audit/image/agent-settings.js';
import { EXIT } from '../../src/errors/exit-codes.js';
import { kdumpServerTree, type ImageAgentSetup } from '../../src/mock/examples/kdump-server.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';

/**
 * Issue 17: the audit models the agent the capture kernel will run, which is the image's: its quirk
 * tables and its kdump.conf, not the host's /etc/pci-reset-agent. Each case failed before (the host's
 * tables planned, PRA_ENABLE and PRA_ARGS never read, the headline always "no safe reset").
 */
async function audit(agent: ImageAgentSetup, ...args: string[]): Promise<{ code: number; report: AuditReport; text: string }> {
  const root = kdumpServerTree(agent).write(tmpDir('pra-audit-settings-'));
  const json = await runCli(['audit', '--root', root, '--json', ...args]);
  const text = await runCli(['audit', '--root', root, ...args]);
  return { code: json.code, report: JSON.parse(json.stdout) as AuditReport, text: text.stdout };
}
const radeon = (r: AuditReport) => r.devices.find((d) => d.bdf === '0000:08:00.0')!;

describe("audit plans with the image's agent settings", () => {
  it("the image lacks the host's quirk table: the image's agent resets the Radeon, and the audit says the tables differ", async () => {
    const { code, report } = await audit({ quirks: false });
    expect(radeon(report).verdict).toBe('agent');
    expect(code).toBe(EXIT.OK);
    expect(report.warnings.join('\n')).toMatch(/the kdump image's quirk tables \(none\) differ from \/etc\/pci-reset-agent\/quirks\.d \(50-radeon\.quirks\): the capture kernel's agent uses the image's/);
    expect(report.image.agentSettings).toMatchObject({ enabled: true, quirkTables: [] });
  });

  it('--quirks FILE is read after the image\'s tables (a what-if): the Radeon table given on the command line counts', async () => {
    const file = `${tmpDir('pra-audit-q-')}/radeon.quirks`;
    (await import('node:fs')).writeFileSync(file, '1002:67df  no_bus  reason="what-if: no bus reset on this board"\n', { mode: 0o644 });
    const { report } = await audit({ quirks: false }, '--quirks', file);
    expect(radeon(report).verdict).toBe('keeps-dma');
    expect(radeon(report).reason).toMatch(/what-if: no bus reset on this board/);
  });

  it("the image carries the same table: the Radeon keeps DMA (no bus reset on this board), no warning about tables", async () => {
    const { report } = await audit({});
    expect(radeon(report).verdict).toBe('keeps-dma');
    expect(radeon(report).reason).toMatch(/quirk var\/lib\/kdump\/initrd\.img:\/etc\/pci-reset-agent\/quirks\.d\/50-radeon\.quirks:1/);
    expect(report.warnings.join('\n')).not.toMatch(/quirk tables/);
    expect(report.image.agentSettings!.quirkTables).toEqual(['etc/pci-reset-agent/quirks.d/50-radeon.quirks']);
  });

  it('PRA_ENABLE=no in the image: no function is the agent\'s, and the headline says the agent is disabled', async () => {
    const { code, report, text } = await audit({ kdumpConf: 'PRA_ENABLE=no\n' });
    expect(code).toBe(EXIT.AUDIT_AT_RISK);
    expect(report.counts.agent).toBe(0);
    expect(report.image.agentSettings).toMatchObject({ enabled: false, disabledBy: "PRA_ENABLE=no in the image's /etc/pci-reset-agent/kdump.conf" });
    expect(report.warnings.join('\n')).toMatch(/the agent in the kdump image is disabled \(PRA_ENABLE=no/);
    expect(report.devices.find((d) => d.bdf === '0000:00:14.0')!.reason).toMatch(/the agent in the image is disabled/);
    expect(text.split('\n').slice(0, 3).join(' ').replace(/\s+/g, ' ')).toMatch(/agent disabled in the image/);
  });

  it('rd.pci_reset_agent=0 on the capture command line disables it too', async () => {
    const { report } = await audit({}, '--kdump-cmdline', 'reset_devices nr_cpus=1 rd.pci_reset_agent=0');
    expect(report.counts.agent).toBe(0);
    expect(report.image.agentSettings).toMatchObject({ enabled: false, disabledBy: 'rd.pci_reset_agent=0 on the capture command line' });
  });

  it('PRA_ARGS --exclude in the image: that function is left out, as the capture kernel\'s agent will leave it', async () => {
    const { report, text } = await audit({ kdumpConf: 'PRA_ARGS="--deadline 20000 --exclude 0000:00:14.0"\n' });
    const usb = report.devices.find((d) => d.bdf === '0000:00:14.0')!;
    expect(usb.verdict).toBe('keeps-dma');
    expect(usb.reason).toMatch(/excluded by --exclude 0000:00:14\.0/);
    expect(report.image.agentSettings).toMatchObject({ args: ['--deadline', '20000', '--exclude', '0000:00:14.0'], exclude: ['0000:00:14.0'], notModelled: ['--deadline', '20000'] });
    expect(report.warnings.join('\n')).toMatch(/PRA_ARGS "--deadline 20000 --exclude 0000:00:14.0": planned with it/);
    expect(text.split('\n').slice(0, 3).join(' ').replace(/\s+/g, ' ')).toMatch(/0000:00:14\.0 8086:a1af USB controller, driver disabled, excluded by --exclude 0000:00:14\.0/);
  });
});

describe('imageAgentSettings', () => {
  const files = (conf: string) => new Map([['etc/pci-reset-agent/kdump.conf', Buffer.from(conf)]]);
  it('reads PRA_ENABLE the runner\'s way (no, 0, false disable) and a bad selector as a note', () => {
    for (const v of ['no', '0', 'false']) expect(imageAgentSettings(files(`PRA_ENABLE=${v}\n`), null, 'img').enabled).toBe(false);
    expect(imageAgentSettings(files('PRA_ENABLE=yes\n'), null, 'img').enabled).toBe(true);
    expect(imageAgentSettings(new Map(), null, 'img')).toMatchObject({ enabled: true, args: [], quirkTables: [] });
    const bad = imageAgentSettings(files('PRA_ARGS="--exclude nonsense --only=8086:1572 --all"\n'), null, 'img');
    expect(bad).toMatchObject({ exclude: [], only: ['8086:1572'], all: true });
    expect(bad.notes.join('\n')).toMatch(/--exclude nonsense: .*\(the agent would refuse to start\)/);
  });
});
