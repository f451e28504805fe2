import type { ScanDevice } from '../scan/scan-result.js';
import type { PlanContext } from './context.js';
import { isBridge } from './scope.js';

/**
 * When a raw register reset (FLR, AF FLR, PM, Bridge Control SBR, `reset_subordinate`) must not be used
 * although the method itself would work. The kernel's forms go through pci_reset_function(), which calls
 * the bound driver's reset_prepare/reset_done and, for `bus` below a hot-plug port, pciehp's reset_slot;
 * a raw reset does none of that.
 */

/**
 * The first of `bdfs` with a driver bound that a raw reset would pull the device out from under. Built-in
 * drivers (nvme on cloud kernels) are bound before the kdump initramfs runs. vfio-pci has no user in a
 * capture kernel; pcieport on a bridge inside a bus reset's radius is not reset as a function (its port
 * services see the link come back, as with the kernel's own bus reset).
 */
export function boundDriver(ctx: PlanContext, bdfs: string[]): { bdf: string; driver: string } | null {
  for (const f of bdfs) {
    const d = ctx.byBdf.get(f);
    if (!d || d.driver === null || d.driver === 'vfio-pci') continue;
    if (d.driver === 'pcieport' && isBridge(d)) continue;
    return { bdf: f, driver: d.driver };
  }
  return null;
}

function skipsDriver(driver: string): string {
  return `a raw reset skips ${driver}'s reset_prepare/reset_done (only the kernel's reset file calls them), and if ${driver} serves the dump target the dump fails`;
}

/** Why a raw FLR, AF FLR or PM reset of d must not run (a driver bound to it or to a VF it takes along), or null. */
export function rawFunctionRefusal(ctx: PlanContext, d: ScanDevice, m: 'flr' | 'af_flr' | 'pm'): string | null {
  const vfs = d.virtfns.filter((vf) => ctx.byBdf.has(vf));
  const b = boundDriver(ctx, [d.bdf, ...vfs]);
  if (!b) return null;
  if (b.bdf === d.bdf) return `driver ${b.driver} is bound: ${skipsDriver(b.driver)}`;
  return `its VF ${b.bdf} has driver ${b.driver} bound, and a ${m} of the PF resets its VFs: ${skipsDriver(b.driver)}`;
}

const PCIEHP =
  'the link goes down and pciehp takes it for a surprise removal, whose path oopses in a capture kernel with copied VT-d tables (dmar_remove_one_dev_info)';

/**
 * Why a raw secondary bus reset of `bridge` (Bridge Control bit 6 or its `reset_subordinate`) must not
 * run, or null. `radius` is every function below it.
 */
export function rawBusRefusal(ctx: PlanContext, bridge: ScanDevice, radius: string[]): string | null {
  if (bridge.pcie?.hotPlugCapable) {
    return `${bridge.bdf} is a hot-plug port (SltCap Hot-Plug Capable): a raw secondary bus reset of it (Bridge Control or reset_subordinate) is not planned: ${PCIEHP}; only the kernel's bus method through a lone function's reset file, where pciehp's reset_slot masks the link events, may reset below it`;
  }
  const hp = radius.map((f) => ctx.byBdf.get(f)).find((x) => x !== undefined && isBridge(x) && x.pcie?.hotPlugCapable === true);
  if (hp) return `a raw secondary bus reset of ${bridge.bdf} would also reset hot-plug port ${hp.bdf} below it (SltCap Hot-Plug Capable): ${PCIEHP}`;
  if (bridge.cxlPortDvsec !== null) {
    return `${bridge.bdf} is a CXL port (CXL Port DVSEC at 0x${bridge.cxlPortDvsec.toString(16)}): while its "Unmask SBR" bit is clear the hardware silently ignores a Bridge Control secondary bus reset; only the kernel's cxl_bus, which unmasks it first, may reset below it`;
  }
  const b = boundDriver(ctx, radius);
  if (b) return `a raw secondary bus reset of ${bridge.bdf} would also reset ${b.bdf}, which has driver ${b.driver} bound: ${skipsDriver(b.driver)}`;
  return null;
}
