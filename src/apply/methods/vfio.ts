import { AccessError } from '../../access/access-error.js';
import type { StepContext } from '../step-context.js';
import type { ResetMethod } from './method.js';
import type { VfioDependent } from './vfio-backend.js';
import { StillInKernel } from '../method-error.js';
import { BRIDGE_REFUSAL, targetIsBridge } from './quiesce.js';
import { quirkDelay } from './step-delays.js';
import { awaitKernel } from './sysfs-write.js';

function vfioTarget(ctx: StepContext): { driver: string | null; group: number | null } {
  const read = (name: string): string | null => {
    try {
      return ctx.access.readLink(ctx.target, name);
    } catch {
      return null;
    }
  };
  const driver = read('driver');
  const group = read('iommu_group');
  const n = group === null ? NaN : parseInt(group.slice(group.lastIndexOf('/') + 1), 10);
  return { driver: driver === null ? null : driver.slice(driver.lastIndexOf('/') + 1), group: Number.isFinite(n) ? n : null };
}

/**
 * VFIO for functions bound to vfio-pci: VFIO_DEVICE_RESET (the kernel's pci_try_reset_function(), with
 * its own save and restore), or when that is not available a hot reset, after
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO shows that everything it reaches is inside this step.
 */
export const vfio: ResetMethod = {
  name: 'vfio',
  probe(ctx) {
    if (targetIsBridge(ctx)) return BRIDGE_REFUSAL;
    const t = vfioTarget(ctx);
    if (t.driver !== 'vfio-pci') return `not bound to vfio-pci (driver: ${t.driver ?? 'none'})`;
    if (t.group === null) return 'no IOMMU group';
    return null;
  },
  clears: () => [],
  observes: (ctx) => [ctx.target],
  async reset(ctx) {
    const { group } = vfioTarget(ctx);
    const backend = await ctx.env.vfio();
    const start = ctx.now();
    try {
      ctx.beginReset('VFIO_DEVICE_RESET', 'kernel');
      await awaitKernel(ctx, ctx.target, 'VFIO_DEVICE_RESET', backend.deviceReset(ctx.target, group!));
      ctx.record('vfio:device-reset', ctx.now() - start);
      await quirkDelay(ctx);
      return { roots: [], reason: 'VFIO_DEVICE_RESET' };
    } catch (err) {
      ctx.record('vfio:device-reset', ctx.now() - start);
      if (!(err instanceof AccessError)) throw err;
      // EINVAL: the device has no function-level reset (reset_works is false): a hot reset is the way left.
      if (err.code !== 'EINVAL' && err.code !== 'ENOTTY') ctx.fail(err.code, ctx.target, `VFIO_DEVICE_RESET: ${err.message}`);
      ctx.note(`VFIO_DEVICE_RESET answered ${err.code}; trying a hot reset`);
    }
    let affected: VfioDependent[];
    try {
      affected = await backend.hotResetInfo(ctx.target, group!);
    } catch (err) {
      const code = err instanceof AccessError ? err.code : 'EIO';
      // ENODEV: neither a slot nor a bus reset is possible for this function.
      throw ctx.error(code, ctx.target, `VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: ${(err as Error).message}`, code === 'ENODEV');
    }
    const outside = affected.filter((d) => !ctx.step.functions.includes(d.bdf)).map((d) => d.bdf);
    if (outside.length) ctx.fail('EPERM', ctx.target, `a hot reset would also reset ${outside.join(', ')}, which this step does not cover`, true);
    const hot = ctx.now();
    ctx.beginReset('VFIO_DEVICE_PCI_HOT_RESET', 'kernel');
    try {
      await awaitKernel(ctx, ctx.target, 'VFIO_DEVICE_PCI_HOT_RESET', backend.hotReset(ctx.target, group!, [...new Set(affected.map((d) => d.group))]));
    } catch (err) {
      ctx.record('vfio:hot-reset', ctx.now() - hot);
      if (err instanceof StillInKernel) throw err;
      ctx.fail(err instanceof AccessError ? err.code : 'EIO', ctx.target, `VFIO_DEVICE_PCI_HOT_RESET: ${(err as Error).message}`);
    }
    ctx.record('vfio:hot-reset', ctx.now() - hot);
    ctx.note(`hot reset through VFIO reset ${affected.map((d) => d.bdf).join(', ')}`);
    await quirkDelay(ctx);
    return { roots: [], reason: 'VFIO hot reset' };
  },
};
