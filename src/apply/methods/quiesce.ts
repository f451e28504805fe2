import * as R from '../../config/registers.js';
import type { RegisterLayout } from '../../config/register-layout.js';
import type { StepContext } from '../step-context.js';

/**
 * pci_dev_save_and_disable()'s last step: Command = INTx Disable only. No memory or I/O decode, no bus
 * mastering, so no DMA and no MSI from here on, whatever the reset does next.
 */
export function disableDevice(ctx: StepContext, bdf: string): void {
  ctx.write(bdf, R.PCI_COMMAND, 2, R.PCI_COMMAND_INTX_DISABLE, 'Command');
}

/** A bridge or switch port: resetting it as a function resets everything below it too (and loses its bus numbers). */
export function isBridge(layout: RegisterLayout): boolean {
  return layout.headerType === R.PCI_HEADER_TYPE_BRIDGE || layout.headerType === R.PCI_HEADER_TYPE_CARDBUS;
}

export const BRIDGE_REFUSAL =
  'the function is a bridge: a function reset of a switch or bridge port takes everything below it down (never FLR a bridge)';
