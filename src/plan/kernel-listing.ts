import type { ScanDevice } from '../scan/scan-result.js';

/**
 * What the kernel's `reset_method` listing rules out. The listing is how a PCI_DEV_FLAGS_NO_*_RESET
 * quirk newer than our table (quirk_no_flr on AMD Matisse/Starship, say) or an administrator's
 * restriction shows from userspace: a method the capability bits allow but the kernel left out is
 * forbidden. `bus` is the exception: the kernel probes it at enumeration, before siblings and a
 * bridge's subordinate bus exist (shared/reference/kernel-reset.md §7), so its absence means something
 * only where the kernel would have listed it: a function alone on its bus below a bridge, not a bridge
 * and not a VF. That is exactly where the scan infers `bus` works.
 */

/**
 * Config space read short of the capabilities (an unprivileged read gets 64 bytes): the capability bits,
 * and so the scan's judgement of which listed methods are stale, are unknown. The kernel read all of it.
 */
export function configCut(d: ScanDevice): boolean {
  return d.headerType !== null && d.configSize < 256;
}

function listing(d: ScanDevice): string {
  return `reset_method "${(d.resetMethods ?? []).join(' ')}"`;
}

/** `reset_method` is there but empty: every reset of the function was disabled. Null when not. */
export function resetsDisabled(d: ScanDevice): string | null {
  if (d.resetMethods === null || d.resetMethods.length > 0) return null;
  return 'the kernel lists no reset method (reset_method is empty): an administrator disabled every reset of it (an empty write to reset_method; `echo 1 > reset` returns ENOTTY), so nothing may reset it';
}

/** Whether the capability bits allow a function-level method, as the kernel's probe reads them. */
function capabilityAllows(d: ScanDevice, m: 'flr' | 'af_flr' | 'pm'): string | null {
  if (m === 'flr') return d.flr ? 'DevCap FLR+' : null;
  if (m === 'af_flr') return d.afFlr ? 'AF TP+ FLR+' : null;
  return d.pm && !d.pm.noSoftReset ? 'PM No_Soft_Reset-' : null;
}

/** The kernel flag behind an omission, and a quirk that sets it. */
const FLAG: Record<'flr' | 'af_flr' | 'pm' | 'bus', string> = {
  flr: 'PCI_DEV_FLAGS_NO_FLR_RESET quirk (like quirk_no_flr)',
  af_flr: 'PCI_DEV_FLAGS_NO_FLR_RESET quirk (like quirk_no_flr)',
  pm: 'PCI_DEV_FLAGS_NO_PM_RESET quirk (like quirk_no_pm_reset)',
  bus: 'PCI_DEV_FLAGS_NO_BUS_RESET quirk (like quirk_no_bus_reset)',
};

/**
 * Why the kernel's listing forbids method m for d, or null. Only a readable listing of a fully read
 * config space counts (with a cut config the capability bits, and so any omission, are unknown).
 */
export function kernelOmits(d: ScanDevice, m: 'flr' | 'af_flr' | 'pm' | 'bus'): string | null {
  if (d.resetMethods === null || d.resetMethods.length === 0 || d.resetMethods.includes(m)) return null;
  if (m === 'bus') {
    if (!d.inferredResetMethods.includes('bus')) return null;
    return `the kernel's ${listing(d)} omits bus although ${d.bdf} is alone on its bus (so the kernel would list it): a ${FLAG.bus} newer than our table, or an administrator, ruled it out`;
  }
  if (configCut(d)) return null;
  const cap = capabilityAllows(d, m);
  if (cap === null) return null;
  return `the kernel's ${listing(d)} omits ${m} although ${cap}: a ${FLAG[m]} newer than our table, or an administrator, ruled it out`;
}
