import type { PciAccess } from '../access/access.js';
import { hex } from '../pci/bdf.js';
import { buildTopology, type Topology } from '../topology/topology.js';
import { INFERRED_METHODS, inferResetMethods, type ResetFlags } from '../topology/reset-methods.js';
import { readFunction, type FunctionRecord } from './read-function.js';
import type { ScanDevice, ScanResult } from './scan-result.js';

export interface ScanOptions {
  /** Kernel quirk flags for a function (the quirk table supplies them); none by default. */
  flagsFor?: (rec: FunctionRecord) => ResetFlags;
}

/** A scan whose devices are made one at a time, in lspci order: what `scan --json` streams. */
export interface ScanStream {
  root: string;
  problems: string[];
  devices(): Iterable<ScanDevice>;
}

/** Read every function through one backend and relate them. */
export function scan(access: PciAccess, rootLabel: string, options: ScanOptions = {}): ScanResult {
  const s = scanStream(access, rootLabel, options);
  return { root: s.root, devices: [...s.devices()], problems: s.problems };
}

/**
 * The same scan, but the per-device documents are built only as they are consumed: printing 5,000
 * functions then never holds 5,000 of them (and their copies of sibling lists) at once.
 */
export function scanStream(access: PciAccess, rootLabel: string, options: ScanOptions = {}): ScanStream {
  const entries = access.listFunctions();
  const records = entries.map((e) => readFunction(access, e));
  const topo = buildTopology(records);
  return {
    root: rootLabel,
    problems: access.listProblems(),
    *devices() {
      for (const bdf of topo.order) yield toDevice(topo.byBdf.get(bdf)!, topo, options);
    },
  };
}

function toDevice(rec: FunctionRecord, topo: Topology, options: ScanOptions): ScanDevice {
  const c = rec.config;
  const h = c.header;
  const flags = options.flagsFor?.(rec) ?? {};
  const inferred = inferResetMethods(rec.bdf, topo, flags);
  const stale = (rec.resetMethods ?? []).filter(
    (m) => (INFERRED_METHODS as readonly string[]).includes(m) && !(inferred as string[]).includes(m),
  );
  const x = (n: number | null, w: number): string | null => (n === null ? null : hex(n, w));
  return {
    bdf: rec.bdf,
    vendor: x(rec.vendor, 4),
    device: x(rec.device, 4),
    class: x(rec.classCode, 6),
    revision: x(rec.revision, 2),
    subsystemVendor: x(rec.subsystemVendor, 4),
    subsystemDevice: x(rec.subsystemDevice, 4),
    headerType: h ? h.headerType : null,
    multiFunction: h ? h.multiFunction : false,
    parent: topo.parent.get(rec.bdf) ?? null,
    secondaryBus: c.bridge ? c.bridge.secondaryBus : null,
    subordinateBus: c.bridge ? c.bridge.subordinateBus : null,
    pcieType: c.pcie ? c.pcie.type : null,
    capabilities: c.capabilities.map(({ id, offset }) => ({ id, offset })),
    extendedCapabilities: c.extendedCapabilities.map(({ id, offset }) => ({ id, offset })),
    flr: c.pcie !== null && c.pcie.flr,
    afFlr: c.af !== null && c.af.tp && c.af.flr,
    pm: c.pm ? { version: c.pm.version, noSoftReset: c.pm.noSoftReset, powerState: c.pm.powerState } : null,
    resetMethods: rec.resetMethods,
    inferredResetMethods: inferred,
    driver: rec.driver,
    iommuGroup: rec.iommuGroup,
    problems: [...rec.problems, ...(topo.problems.get(rec.bdf) ?? [])],
    path: rec.path,
    configSize: c.size,
    sameBus: topo.sameBus.get(rec.bdf)!,
    below: c.bridge ? topo.below(rec.bdf) : [],
    physfn: rec.physfn,
    virtfns: rec.virtfns,
    resetFile: rec.resetFile,
    staleResetMethods: stale,
    immediateReadiness: h ? h.immediateReadiness : false,
    command: h ? h.command : null,
    af: c.af ? { tp: c.af.tp, flr: c.af.flr } : null,
    pcie: c.pcie
      ? {
          version: c.pcie.version,
          devCtl: c.pcie.devCtl,
          transactionsPending: c.pcie.transactionsPending,
          maxLinkSpeed: c.pcie.maxLinkSpeed,
          supportedLinkSpeed: c.pcie.supportedSpeed,
          currentLinkSpeed: c.pcie.currentLinkSpeed,
          dllLinkActiveReporting: c.pcie.dllLinkActiveReporting,
          dllLinkActive: c.pcie.dllLinkActive,
          crsVisibilityEnabled: c.pcie.crsVisibilityEnabled,
          hotPlugCapable: c.pcie.hotPlugCapable,
        }
      : null,
    cxlPortDvsec: c.cxlPortDvsec,
    bridgeControl: c.bridge ? c.bridge.bridgeControl : null,
    cxlMemEnabled: c.cxlMemEnabled,
    readiness: c.readiness,
  };
}
