import * as R from '../../config/registers.js';
import type { RegisterLayout } from '../../config/register-layout.js';
import type { StepContext } from '../step-context.js';

/**
 * pci_dev_save_and_disable()'s last step: Command = INTx Disable only. No memory or I/O decode, no bus
 * mastering, so no DMA and no MSI from here on, whatever the reset does next.
 */
export function disableDevice(ctx: StepContext, bdf: string): void {
  ctx.write(bdf, R.PCI_COMMAND, 2, R.PCI_COMMAND_INTX_DISABLE, 'Command');
  ctx.quiesced.add(bdf);
}

/** An SR-IOV VF: its INTx Disable is hardwired to 0, so Command tells nothing about a reset. */
export function isVf(ctx: StepContext, bdf: string): boolean {
  return (ctx.env.topo.device(bdf)?.physfn ?? null) !== null;
}

/**
 * Command after a raw reset of a function quiesced before it: a real FLR, PM or bus reset returns it to
 * 0x0000; INTx Disable still set means the hardware ignored the reset (a CXL port with Unmask SBR clear,
 * a device that advertises FLR but ignores it, a wrong No_Soft_Reset). Null when it was reset (or tells
 * nothing: a VF, a function not quiesced, a read that fails or reads all-ones), else the failure text.
 */
export function resetHadNoEffect(ctx: StepContext, bdf: string, reset: string): string | null {
  if (!ctx.quiesced.has(bdf) || isVf(ctx, bdf)) return null;
  let cmd: number;
  try {
    cmd = ctx.access.readConfigAt(bdf, R.PCI_COMMAND, 2);
  } catch {
    return null;
  }
  if (cmd === 0xffff || !(cmd & R.PCI_COMMAND_INTX_DISABLE)) return null;
  return `reset had no effect: Command still 0x${cmd.toString(16).padStart(4, '0')} after the ${reset} (INTx Disable, written before it, is still set): the function was not reset`;
}

/**
 * After an FLR: Command is back at its power-on 0, so INTx Disable, written by disableDevice(), is clear
 * again. Still set, the function ignored the Initiate FLR write and was not reset (the bit itself always
 * reads 0, so this is the only trace). A function with INTx Disable hardwired to 0 (a VF) passes.
 */
export function checkCommandCleared(ctx: StepContext, bdf: string, reset: string): void {
  if (isVf(ctx, bdf)) return;
  const cmd = ctx.read(bdf, R.PCI_COMMAND, 2, 'Command');
  if (cmd !== 0xffff && cmd & R.PCI_COMMAND_INTX_DISABLE) {
    ctx.fail('EIO', bdf, `reset had no effect: Command still 0x${cmd.toString(16).padStart(4, '0')} after the ${reset} (INTx Disable, written before it, is still set): the function was not reset`);
  }
}

/** A bridge or switch port: resetting it as a function resets everything below it too (and loses its bus numbers). */
export function isBridge(layout: RegisterLayout): boolean {
  return layout.headerType === R.PCI_HEADER_TYPE_BRIDGE || layout.headerType === R.PCI_HEADER_TYPE_CARDBUS;
}

/**
 * Whether a step's target is a bridge, for methods that do not otherwise read its config (the kernel's
 * reset file, VFIO): from its config when it answers, else from the scan.
 */
export function targetIsBridge(ctx: StepContext): boolean {
  try {
    return isBridge(ctx.layout(ctx.target));
  } catch {
    const h = ctx.env.topo.device(ctx.target)?.headerType;
    return h === R.PCI_HEADER_TYPE_BRIDGE || h === R.PCI_HEADER_TYPE_CARDBUS;
  }
}

export const BRIDGE_REFUSAL =
  'the function is a bridge: a function reset of a switch or bridge port takes everything below it down (never FLR a bridge)';
