import { describe, expect, it } from 'vitest';
import type { ApplyReport } from '../../src/apply/apply-report.js';
import type { AuditDevice, AuditReport } from '../../src/audit/audit-report.js';
import { compareWithCapture } from '../../src/audit/compare-capture.js';

const dev = (bdf: string, over: Partial<AuditDevice>): AuditDevice => ({
  bdf, vendor: '8086', device: '0000', class: '020000', description: 'Ethernet controller', modalias: null, modaliasSource: null, driverNow: null,
  capture: 'none', imageModules: [], builtinModules: [], firstKernelModules: [], disabledModules: [], rootModules: [], verdict: 'keeps-dma', reason: '', agentStep: null, driverStops: null, ...over,
});

const audit = (devices: AuditDevice[]): AuditReport => ({ devices } as unknown as AuditReport);
const agent = (steps: { id: number; functions: string[]; status: 'ok' | 'failed'; methodUsed?: string; target?: string }[]): ApplyReport =>
  ({ steps: steps.map((s) => ({ method: 'flr', methodUsed: 'flr', target: s.functions[0], ...s })) } as unknown as ApplyReport);

describe('prediction against the capture kernel', () => {
  const devices = [
    dev('0000:00:02.0', { verdict: 'agent', agentStep: { id: 1, method: 'flr', target: '0000:00:02.0', waits: [], waitMs: 100 }, capture: 'image', imageModules: ['e1000e'] }),
    dev('0000:00:03.0', { verdict: 'driver', capture: 'image', imageModules: ['virtio_pci'], driverNow: 'virtio-pci' }),
    dev('0000:00:04.0', { verdict: 'keeps-dma', capture: 'none', firstKernelModules: ['nouveau'] }),
    dev('0000:00:05.0', { verdict: 'driver', capture: 'builtin', builtinModules: ['xhci_pci'] }),
  ];

  it('all as predicted: reset by the agent, the image\'s driver, no driver, a driver registered under another name', () => {
    const r = compareWithCapture(audit(devices), {
      drivers: { '0000:00:02.0': 'e1000e', '0000:00:03.0': 'virtio-pci', '0000:00:04.0': null, '0000:00:05.0': 'xhci_hcd' },
      agent: agent([{ id: 1, functions: ['0000:00:02.0'], status: 'ok' }]),
    });
    expect(r.filter((c) => !c.ok)).toEqual([]);
    expect(r.map((c) => c.actual)).toEqual(['reset by flr (step 1), then driver e1000e', 'driver virtio-pci', 'no driver', 'driver xhci_hcd']);
  });

  it('a matching module that did not bind the function in the first kernel either is no surprise; one that did is', () => {
    const bridge = dev('0000:03:00.0', { verdict: 'harmless', class: '060400', capture: 'builtin', builtinModules: ['shpchp'], driverNow: null });
    const smbus = dev('0000:00:1f.3', { verdict: 'harmless', capture: 'root', rootModules: ['i2c_i801'], driverNow: 'i801_smbus' });
    const r = compareWithCapture(audit([bridge, smbus]), { drivers: { '0000:03:00.0': null, '0000:00:1f.3': 'i801_smbus' }, agent: null });
    expect(r.map((c) => [c.ok, c.actual])).toEqual([[true, 'no driver'], [true, 'driver i801_smbus']]);
    const lost = compareWithCapture(audit([smbus]), { drivers: { '0000:00:1f.3': null }, agent: null });
    expect(lost[0]).toMatchObject({ ok: false, why: 'predicted i2c_i801 to bind; nothing did' });
  });

  it('a reset by another method or of another target than predicted is a difference (a fallback the model did not foresee)', () => {
    const drivers = { '0000:00:02.0': 'e1000e', '0000:00:03.0': 'virtio-pci', '0000:00:04.0': null, '0000:00:05.0': 'xhci_hcd' };
    const pm = compareWithCapture(audit(devices), { drivers, agent: agent([{ id: 1, functions: ['0000:00:02.0'], status: 'ok', methodUsed: 'pm' }]) });
    expect(pm.filter((c) => !c.ok).map((c) => `${c.bdf}: ${c.why}`)).toEqual(['0000:00:02.0: predicted flr of 0000:00:02.0; the agent used pm of 0000:00:02.0']);
    const bus = compareWithCapture(audit(devices), { drivers, agent: agent([{ id: 1, functions: ['0000:00:02.0'], status: 'ok', methodUsed: 'bus', target: '0000:00:1c.0' }]) });
    expect(bus.find((c) => !c.ok)).toMatchObject({ bdf: '0000:00:02.0', actual: 'reset by bus of 0000:00:1c.0' });
  });

  it('every difference is reported with the function and why', () => {
    const r = compareWithCapture(audit(devices), {
      drivers: { '0000:00:02.0': 'e1000e', '0000:00:03.0': null, '0000:00:04.0': 'nouveau', '0000:00:05.0': 'xhci_hcd' },
      agent: agent([{ id: 1, functions: ['0000:00:02.0'], status: 'failed' }]),
    });
    expect(r.filter((c) => !c.ok).map((c) => `${c.bdf}: ${c.why}`)).toEqual([
      '0000:00:02.0: predicted a reset by the agent; its report has no successful step for it',
      '0000:00:03.0: predicted virtio_pci to bind; nothing did',
      '0000:00:04.0: predicted no driver in the capture kernel, but one bound',
    ]);
  });
});
