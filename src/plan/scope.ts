import type { IommuCase } from '../iommu/iommu-report.js';
import { cite, type QuirkEntry } from '../quirks/quirk-types.js';
import type { ScanDevice } from '../scan/scan-result.js';
import { selects, type Selector } from './policy.js';

/** What a function is, as far as the planner cares. */
export type Role = 'function' | 'bridge' | 'host_bridge' | 'other_bridge' | 'iommu' | 'event_collector';

export interface Scope {
  role: Role;
  /** The plan should reset it (it gets a step, is covered by one, or is reported unresettable). */
  inScope: boolean;
  /** Why it is out of scope; null when in scope. */
  reason: string | null;
  /** No step may touch it: a bus reset or PF reset that would cover it is not planned. */
  protected: boolean;
}

/** A type-1 (PCI-to-PCI) or type-2 (CardBus) header: something a secondary bus reset is done on. */
export function isBridge(d: ScanDevice): boolean {
  if (d.headerType === 1 || d.headerType === 2) return true;
  const cls = d.class === null ? null : parseInt(d.class, 16) >> 8;
  return d.headerType === null && (cls === 0x0604 || cls === 0x0609 || cls === 0x0607);
}

export function roleOf(d: ScanDevice): Role {
  if (isBridge(d)) return 'bridge';
  const cls = d.class === null ? null : parseInt(d.class, 16) >> 8;
  if (cls === 0x0600) return 'host_bridge';
  if (cls !== null && cls >> 8 === 0x06) return 'other_bridge';
  if (cls === 0x0806) return 'iommu';
  if (cls === 0x0807) return 'event_collector';
  return 'function';
}

const ROLE_REASON: Record<Exclude<Role, 'function'>, string> = {
  bridge: 'bridge: never reset as a function (an FLR or PM reset of a port can take down everything below it); what sits below it is planned on its own',
  host_bridge: 'host bridge: not a DMA master of its own',
  other_bridge: 'ISA/LPC or other non-PCI bridge: no PCI reset reaches what sits behind it',
  iommu: 'the IOMMU itself: never reset',
  event_collector: 'root complex event collector: no DMA of its own',
};

export const CASE1_REASON = 'IOMMU case 1 (off in both kernels): stray DMA lands in the crashed kernel\'s memory and is harmless; nothing is reset (use --all to reset anyway)';

/**
 * In scope or not, and why. `iommuCase` is the device's own case when the IOMMU report gives one (the
 * case of the unit that covers it), else the machine's. `noDma` is the table's no_dma entry, if any.
 */
export function decideScope(
  d: ScanDevice,
  iommuCase: IommuCase,
  only: Selector[],
  exclude: Selector[],
  all: boolean,
  noDma: QuirkEntry | null = null,
): Scope {
  const role = roleOf(d);
  const excludedBy = exclude.find((s) => selects(s, d));
  if (role !== 'function') {
    // A bridge named in --exclude is protected: nothing below it is bus-reset.
    if (excludedBy) return { role, inScope: false, reason: `excluded by --exclude ${excludedBy.text}`, protected: true };
    return { role, inScope: false, reason: ROLE_REASON[role], protected: role !== 'bridge' };
  }
  if (excludedBy) return { role, inScope: false, reason: `excluded by --exclude ${excludedBy.text}`, protected: true };
  if (only.length > 0 && !only.some((s) => selects(s, d))) {
    return { role, inScope: false, reason: `not selected by --only ${only.map((s) => s.text).join(',')}`, protected: true };
  }
  if (noDma) return { role, inScope: false, reason: `not a DMA master, nothing to stop (quirk ${cite(noDma)}: ${noDma.reason})`, protected: false };
  if (iommuCase === '1' && !all) return { role, inScope: false, reason: CASE1_REASON, protected: true };
  return { role, inScope: true, reason: null, protected: false };
}
