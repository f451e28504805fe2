import { className } from './class-names.js';
import type { PciNames } from './pci-ids.js';

/** What the views need of a function to name it. */
export interface Nameable {
  vendor: string | null;
  device: string | null;
  class: string | null;
}

/** How functions are named: from pci.ids when the system has it, else by class; `-n`: numbers only. */
export interface Naming {
  names: PciNames | null;
  numeric: boolean;
}

/**
 * The words after a function's IDs in the human views, as lspci names it: `NVMe controller: Samsung
 * Electronics Co Ltd NVMe SSD Controller SM981/PM981/PM983` with pci.ids, `NVMe controller` without it,
 * `[0108]` with `-n` (the class code, as `lspci -n` prints it).
 */
export function deviceLabel(d: Nameable, naming: Naming): string {
  if (naming.numeric) return d.class === null ? '[????]' : `[${d.class.replace(/^0x/, '').slice(0, 4)}]`;
  const cls = d.class === null ? 'unknown class' : className(parseInt(d.class, 16));
  const v = d.vendor === null ? null : parseInt(d.vendor, 16);
  const dev = d.device === null ? null : parseInt(d.device, 16);
  if (!naming.names || v === null || Number.isNaN(v)) return cls;
  const vendorName = naming.names.vendor(v);
  if (vendorName === null) return cls;
  const deviceName = dev === null || Number.isNaN(dev) ? null : naming.names.device(v, dev);
  return `${cls}: ${vendorName}${deviceName ? ` ${deviceName}` : ''}`;
}

export const NO_NAMES: Naming = { names: null, numeric: false };
