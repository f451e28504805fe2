import type { IommuOptions } from './cmdline.js';
import type { LogFacts } from './kmsg/parse-log.js';

/**
 * Passthrough (identity) DMA: the IOMMU stays enabled but maps every address to itself, so a stray DMA
 * of a device in an identity domain reaches raw memory exactly as in case 3b. In the crashed kernel it
 * means the old (copied or reused) tables are identity maps; in this kernel, that each device's default
 * domain is identity from the moment iommu_probe_device() attaches it (at boot, before any driver binds).
 * Only positive evidence sets a side: `iommu=pt`/`iommu.passthrough=1` (false: `iommu=nopt`,
 * `iommu.passthrough=0`), "iommu: Default domain type: Passthrough|Translated" (iommu_subsys_init(),
 * drivers/iommu/iommu.c; 5.x–6.18), a group's `type` file (identity, DMA, DMA-FQ).
 */
export interface PassthroughFinding {
  /** This kernel: devices get identity domains. */
  now: boolean | null;
  /** The crashed kernel ran with identity domains. */
  before: boolean | null;
  basis: string[];
}

export function passthroughFinding(x: {
  optionsNow: IommuOptions;
  optionsBefore: IommuOptions | null;
  kmsg: LogFacts | null;
  oldLog: LogFacts | null;
  groupTypes: Map<number, string>;
}): PassthroughFinding {
  const basis: string[] = [];
  let now: boolean | null = null;
  let before: boolean | null = null;
  if (x.optionsNow.passthrough !== null) {
    now = x.optionsNow.passthrough;
    basis.push(`now: proc/cmdline ${x.optionsNow.words.filter((w) => /^iommu(\.passthrough)?=/.test(w)).join(' ')}`);
  }
  const dd = x.kmsg?.defaultDomain;
  if (dd === 'Passthrough' || dd === 'Translated') {
    now = dd === 'Passthrough';
    basis.push(`now: ${x.kmsg!.source} "Default domain type: ${dd}"`);
  }
  const types = [...x.groupTypes.values()];
  if (types.length) {
    const identity = types.filter((t) => t === 'identity').length;
    if (identity > 0) now = true;
    else if (types.every((t) => t.startsWith('DMA'))) now = false;
    basis.push(`now: sys/kernel/iommu_groups: ${identity} of ${types.length} group(s) identity`);
  }
  if (x.optionsBefore?.passthrough !== null && x.optionsBefore?.passthrough !== undefined) {
    before = x.optionsBefore.passthrough;
    basis.push(`before: old-log command line ${x.optionsBefore.words.filter((w) => /^iommu(\.passthrough)?=/.test(w)).join(' ')}`);
  }
  const od = x.oldLog?.defaultDomain;
  if (od === 'Passthrough' || od === 'Translated') {
    before = od === 'Passthrough';
    basis.push(`before: ${x.oldLog!.source} "Default domain type: ${od}"`);
  }
  return { now, before, basis };
}
