import { DeadlineError, MethodError } from './method-error.js';
import type { ResetOutcome } from './methods/method.js';
import { resetHadNoEffect } from './methods/quiesce.js';
import type { SaveSession } from './save-restore/session.js';
import type { StepContext } from './step-context.js';
import { waitReady } from './wait-ready.js';
import { D3COLD_DELAY_MS, waitNestedBus } from './wait-secondary-bus.js';

/** SR-IOV r1.1 3.3.3.1: after VF Enable, 100 ms before a VF is touched (pci_restore_iov_state() sleeps as long). */
export const VF_ENABLE_DELAY_MS = 100;

/**
 * After the mandated wait: wait for each function to answer, write its state back as soon as it does,
 * then do the same for what depends on it (a bridge's children once its bus numbers are back, a PF's
 * VFs 100 ms after VF Enable). Branches run concurrently; a function that never answers is given up on
 * at its own timeout, the others continue. Throws the first deadline, else a summary of the failures.
 */
export async function bringUp(ctx: StepContext, session: SaveSession, outcome: ResetOutcome): Promise<void> {
  const failures: MethodError[] = [];
  let deadline: DeadlineError | null = null;
  const topo = ctx.env.topo;

  const visit = async (bdf: string): Promise<void> => {
    if (!session.has(bdf) || session.isRestored(bdf)) return;
    try {
      await waitReady(ctx, bdf, outcome.reason, outcome.giveUp ? { giveUp: outcome.giveUp } : {});
    } catch (err) {
      if (err instanceof DeadlineError) deadline ??= err;
      else if (err instanceof MethodError) failures.push(err);
      else throw err;
      const behind = topo.dependents(bdf).filter((d) => session.has(d));
      if (behind.length) ctx.note(`${behind.join(', ')} not restored: behind ${bdf}, which did not come back`);
      return;
    }
    // Quiesced before a raw reset, Command must read 0 now; INTx Disable still set: the reset was ignored.
    // Everything goes back but Bus Master, which stays off: the function may still be running its DMA.
    const ignored = resetHadNoEffect(ctx, bdf, outcome.reason);
    if (ignored) failures.push(new MethodError('EIO', 'verify', bdf, ignored));
    const result = session.restore(bdf, ignored !== null);
    if (ignored) ctx.note(`${bdf} restored with Bus Master left off: the ${outcome.reason} had no effect on it`);
    ctx.env.log.info({ event: 'step.restored', step: ctx.step.id, bdf }, `${bdf} restored`);
    if (result.errors.length) failures.push(new MethodError('EIO', 'restore', bdf, result.errors.join('; ')));
    const deps = topo.dependents(bdf).filter((d) => session.has(d));
    if (!deps.length) return;
    const vfs = new Set(topo.vfs(bdf));
    if (outcome.resetAt !== undefined && deps.some((d) => !vfs.has(d))) {
      // A bridge inside the reset: its secondary bus needs its own wait before its children are touched.
      try {
        await waitNestedBus(ctx, bdf, outcome.resetAt, outcome.delayMs ?? D3COLD_DELAY_MS);
      } catch (err) {
        if (err instanceof DeadlineError) deadline ??= err;
        else if (err instanceof MethodError) failures.push(err);
        else throw err;
        const behind = deps.filter((d) => !vfs.has(d));
        ctx.note(`${behind.join(', ')} not restored: the link below ${bdf} did not come back`);
        return;
      }
    }
    if (result.vfEnabled && deps.some((d) => vfs.has(d))) {
      try {
        await ctx.wait('vf-enable', VF_ENABLE_DELAY_MS);
      } catch (err) {
        if (err instanceof DeadlineError) deadline ??= err;
        return;
      }
    }
    await Promise.all(deps.map(visit));
  };

  const results = await Promise.allSettled(outcome.roots.map(visit));
  const crashed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (crashed) throw crashed.reason;
  if (deadline) throw deadline;
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const first = failures[0]!;
    throw new MethodError(first.code, first.phase, first.bdf, `${first.detail}; and ${failures.length - 1} more: ${failures.slice(1).map((f) => f.message).join('; ')}`);
  }
}
