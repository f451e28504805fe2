import type { VfioBackend, VfioDependent } from '../apply/methods/vfio-backend.js';
import type { SimFunction } from './sim-function.js';
import type { PciSimulator } from './simulator.js';

const basename = (p: string | undefined): string | null => (p === undefined ? null : p.slice(p.lastIndexOf('/') + 1));

function groupOf(f: SimFunction): number | null {
  const g = basename(f.links.get('iommu_group'));
  return g !== null && /^\d+$/.test(g) ? parseInt(g, 10) : null;
}

/**
 * VFIO against the simulator: what vfio-pci does with the ioctls. VFIO_DEVICE_RESET is the kernel's
 * function reset (EINVAL when no method works, as reset_works is then false); a hot reset is a bus reset
 * of the parent bridge with everything below saved and restored, refused (EPERM) unless every affected
 * function is bound to vfio-pci and its group is among those passed.
 */
export function simulatedVfio(sim: PciSimulator): VfioBackend {
  const owned = (f: SimFunction): string | null => {
    if (basename(f.links.get('driver')) !== 'vfio-pci') return `EPERM: ${f.bdf} is not bound to vfio-pci (group not viable)`;
    return null;
  };
  const affected = (bdf: string): { bridge: SimFunction; below: SimFunction[] } | string => {
    const f = sim.get(bdf);
    if (f.parent === null) return 'ENODEV: no slot or bus reset possible (function on a root bus)';
    return { bridge: sim.get(f.parent), below: sim.below(f.parent).filter((d) => sim.reachable(d)) };
  };
  return {
    async deviceReset(bdf) {
      await sim.vfioOp(bdf, 'DEVICE_RESET', () => {
        const f = sim.get(bdf);
        const refused = owned(f);
        if (refused) return refused;
        if (!(f.resetMethods ?? []).some((m) => sim.kernel.probe(f, m))) return 'EINVAL: device has no function reset (reset_works is false)';
        return sim.kernel.resetFunction(f);
      });
    },
    async hotResetInfo(bdf) {
      let out: VfioDependent[] = [];
      await sim.vfioOp(bdf, 'HOT_RESET_INFO', () => {
        const a = affected(bdf);
        if (typeof a === 'string') return a;
        out = a.below.map((d) => ({ bdf: d.bdf, group: groupOf(d) ?? -1 }));
        return { ms: 0, apply: () => {} };
      });
      return out;
    },
    async hotReset(bdf, _group, groups) {
      await sim.vfioOp(bdf, 'HOT_RESET', () => {
        const a = affected(bdf);
        if (typeof a === 'string') return a;
        for (const d of a.below) {
          const refused = owned(d);
          if (refused) return refused;
          const g = groupOf(d);
          if (g === null || !groups.includes(g)) return `EPERM: group of ${d.bdf} was not passed`;
        }
        return sim.kernel.resetBus(a.bridge);
      });
    },
  };
}
