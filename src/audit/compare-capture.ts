/**
 * Prediction against reality: the audit run in the first kernel, compared function by function with
 * what a capture kernel then did (issue #17, "checked against reality"). The e2e harness records, in the
 * capture kernel, the driver each function got (`sys/bus/pci/devices/<bdf>/driver`) and the agent's
 * report (`run/pci-reset-agent/report.json`), and hands both here; every difference that the
 * prediction cannot explain is returned.
 */
import type { ApplyReport } from '../apply/apply-report.js';
import type { AuditReport } from './audit-report.js';

export interface CaptureReality {
  /** Driver bound per function once the capture kernel's udev has settled (null: none). */
  drivers: Record<string, string | null>;
  /** The agent's report, null when it did not run. */
  agent: ApplyReport | null;
}

export interface Comparison {
  bdf: string;
  predicted: string;
  actual: string;
  ok: boolean;
  why: string;
}

/**
 * Modules whose PCI driver registers under another name: drivers/usb/host/xhci-pci.c (hcd_name
 * "xhci_hcd"); drivers/i2c/busses/i2c-i801.c (DRV_NAME "i801_smbus", which the Debian e2e guest's
 * capture kernel showed for its ICH9 SMBus).
 */
const DRIVER_NAME: Record<string, string> = { xhci_pci: 'xhci_hcd', i2c_i801: 'i801_smbus' };

/** A driver name as sysfs shows it (`virtio-pci`) against a module name (`virtio_pci`). */
const same = (module: string, driver: string): boolean => {
  const d = driver.replace(/-/g, '_');
  return module === d || DRIVER_NAME[module] === d;
};

export function compareWithCapture(audit: AuditReport, reality: CaptureReality): Comparison[] {
  const resetBy = new Map<string, string>();
  const howReset = new Map<string, { method: string; target: string }>();
  for (const s of reality.agent?.steps ?? []) {
    if (s.status !== 'ok') continue;
    for (const f of s.functions) {
      resetBy.set(f, `${s.methodUsed ?? s.method} (step ${s.id})`);
      howReset.set(f, { method: s.methodUsed ?? s.method, target: s.target });
    }
  }
  const out: Comparison[] = [];
  for (const d of audit.devices) {
    const driver = reality.drivers[d.bdf] ?? null;
    const expectModules = [...d.imageModules, ...d.builtinModules, ...(d.rootModules ?? [])];
    const predicted = d.verdict === 'agent' ? `agent step ${d.agentStep?.id}` : d.verdict === 'driver' ? `driver ${expectModules[0]}` : d.verdict;
    const reset = resetBy.get(d.bdf);
    const add = (ok: boolean, actual: string, why: string): void => {
      out.push({ bdf: d.bdf, predicted, actual, ok, why });
    };
    // Did the agent do what was predicted?
    if (d.verdict === 'agent' && !reset) {
      add(false, driver ? `driver ${driver}, not reset` : 'not reset', 'predicted a reset by the agent; its report has no successful step for it');
      continue;
    }
    // ... and the way predicted: the same method on the same target (a fallback, or another bridge, is a
    // difference the audit's model did not foresee).
    const how = howReset.get(d.bdf);
    if (d.verdict === 'agent' && how && d.agentStep && (how.method !== d.agentStep.method || how.target !== d.agentStep.target)) {
      add(false, `reset by ${how.method} of ${how.target}`, `predicted ${d.agentStep.method} of ${d.agentStep.target}; the agent used ${how.method} of ${how.target}`);
      continue;
    }
    if (d.verdict !== 'agent' && reset) {
      add(false, `reset by ${reset}`, 'the agent reset a function the audit did not expect it to');
      continue;
    }
    // Did the predicted driver (or no driver) bind? A function may bind any of its matching modules.
    if (d.capture === 'none' && driver !== null && driver !== 'pcieport') {
      add(false, `driver ${driver}`, 'predicted no driver in the capture kernel, but one bound');
      continue;
    }
    // A matching module whose probe refuses the function (pcie-pci-bridge without an SHPC capability
    // against the built-in shpchp): it had no driver in the first kernel either, the same module there.
    if (d.capture !== 'none' && d.capture !== 'unknown' && driver === null && d.driverNow === null) {
      add(true, 'no driver', `as in the first kernel: ${expectModules.join('/')} matches its IDs but does not bind it`);
      continue;
    }
    if ((d.capture === 'image' || d.capture === 'builtin' || d.capture === 'root') && (driver === null || !expectModules.some((m) => same(m, driver)))) {
      add(false, driver === null ? 'no driver' : `driver ${driver}`, driver === null ? `predicted ${expectModules.join('/')} to bind; nothing did` : `predicted ${expectModules.join('/')}; ${driver} bound`);
      continue;
    }
    add(true, reset ? `reset by ${reset}${driver ? `, then driver ${driver}` : ''}` : driver ? `driver ${driver}` : 'no driver', 'as predicted');
  }
  return out;
}

/**
 * The harness's record of drivers per function, one `<bdf> [<driver>]` line each (the basename of
 * `sys/bus/pci/devices/<bdf>/driver`, empty when none), as e2e/debian writes it in both kernels.
 */
export function parseDriverList(text: string, file: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const m = /^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(?: +(\S+))? *$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected "<bdf> [<driver>]", got ${JSON.stringify(line.slice(0, 80))}`);
    out[m[1]!] = m[2] ?? null;
  });
  return out;
}
