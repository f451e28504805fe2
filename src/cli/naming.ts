import type { Root } from '../access/root.js';
import type { Naming } from '../pci/device-label.js';
import { loadPciIds } from '../pci/pci-ids.js';

interface Named {
  vendor: string | null;
}

/** `-n, --numeric` as lspci has it. */
export const NUMERIC_FLAGS = '-n, --numeric';
export const NUMERIC_HELP = 'numbers only: no names from pci.ids, class codes instead of class names (as lspci -n)';

/** How the human views name functions: pci.ids under the root when it has one, unless `-n`. */
export function namingFor(root: Root, devices: Named[], numeric: boolean | undefined): Naming {
  if (numeric) return { names: null, numeric: true };
  const vendors = new Set<number>();
  for (const d of devices) if (d.vendor !== null) vendors.add(parseInt(d.vendor, 16));
  return { names: loadPciIds(root, vendors), numeric: false };
}
