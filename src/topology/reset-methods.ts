import type { DecodedConfig } from '../config/decode.js';
import type { Topology } from './topology.js';

/** The kernel's PCI_DEV_FLAGS_NO_{FLR,PM,BUS}_RESET, which quirks set on some devices. */
export interface ResetFlags {
  noFlr?: boolean;
  noPm?: boolean;
  noBus?: boolean;
}

/** The methods this module can judge from config space and topology, in the kernel's order. */
export type InferredMethod = 'flr' | 'af_flr' | 'pm' | 'bus';
export const INFERRED_METHODS: readonly InferredMethod[] = ['flr', 'af_flr', 'pm', 'bus'];

/** pcie_reset_flr(): DevCap FLR and no NO_FLR_RESET flag. The kernel does not exclude bridges; the planner does. */
function flrWorks(c: DecodedConfig, f: ResetFlags): boolean {
  return !f.noFlr && c.pcie !== null && c.pcie.flr;
}

/** pci_af_flr(): AF capability with both TP and FLR, no NO_FLR_RESET flag. */
function afFlrWorks(c: DecodedConfig, f: ResetFlags): boolean {
  return !f.noFlr && c.af !== null && c.af.tp && c.af.flr;
}

/** pci_pm_reset(): a usable PM capability (version <= 3) without No_Soft_Reset, no NO_PM_RESET flag. */
function pmWorks(c: DecodedConfig, f: ResetFlags): boolean {
  return !f.noPm && c.pm !== null && !c.pm.noSoftReset;
}

/**
 * The methods that would work at reset time, the kernel's pci_init_reset_methods() conditions evaluated
 * with the whole topology. `bus` is pci_parent_bus_reset(): an upstream bridge, not a bridge itself, not
 * an SR-IOV VF (it shares its PF's bus or sits on a virtual bus with no bridge), alone on its bus.
 * The kernel's own `reset_method` listing is taken at enumeration, before siblings and subordinate
 * buses exist, and so lists `bus` for function 0 of multi-function devices and for bridges.
 */
export function inferResetMethods(bdf: string, topo: Topology, flags: ResetFlags = {}): InferredMethod[] {
  const rec = topo.byBdf.get(bdf)!;
  const c = rec.config;
  if (!c.header) return [];
  const out: InferredMethod[] = [];
  if (flrWorks(c, flags)) out.push('flr');
  if (afFlrWorks(c, flags)) out.push('af_flr');
  if (pmWorks(c, flags)) out.push('pm');
  const alone = topo.sameBus.get(bdf)!.length === 0;
  if (!flags.noBus && topo.parent.get(bdf) && !c.bridge && rec.physfn === null && alone) out.push('bus');
  return out;
}

/**
 * What the kernel lists in `reset_method` right after enumeration, for a function whose bus already
 * held `earlierOnBus` functions when it was added and that has (or not) an upstream bridge. Used to
 * build faithful mock trees and to tell when the kernel's listing lies.
 */
export function enumerationResetMethods(
  c: DecodedConfig,
  place: { hasUpstreamBridge: boolean; earlierOnBus: number; isVf: boolean },
  flags: ResetFlags = {},
): InferredMethod[] {
  if (!c.header) return [];
  const out: InferredMethod[] = [];
  if (flrWorks(c, flags)) out.push('flr');
  if (afFlrWorks(c, flags)) out.push('af_flr');
  if (pmWorks(c, flags)) out.push('pm');
  if (!flags.noBus && place.hasUpstreamBridge && !place.isVf && place.earlierOnBus === 0) out.push('bus');
  return out;
}
