/**
 * Drivers known to stop their device's DMA when they bind in a capture kernel, as data (the quirk
 * table's style: one entry, what it does, where that is known from). Two kinds:
 *
 * - `kdump`: the driver looks at `reset_devices` (the word kdump tools put on the capture command line)
 *   or `is_kdump_kernel()` and resets the controller before using it.
 * - `probe`: the driver resets the controller at every probe, kdump or not, before it sets up its rings.
 *
 * A driver not listed may well reset its device too; the audit then says "not known" rather than guess.
 * Sources name the file and function in mainline Linux (read through code search; drivers/ outside
 * drivers/pci is not in the unpacked 6.18.19 tree, so no line numbers are given).
 */
export interface StoppingDriver {
  /** Module name, normalised (`-` → `_`). */
  module: string;
  kind: 'kdump' | 'probe';
  /** What the driver does to the device. */
  what: string;
  source: string;
}

export const STOPPING_DRIVERS: readonly StoppingDriver[] = [
  { module: 'hpsa', kind: 'kdump', what: 'hard-resets the Smart Array controller (PM D3hot→D0 or doorbell) when reset_devices is set', source: 'drivers/scsi/hpsa.c hpsa_init_reset_devices() → hpsa_kdump_hard_reset_controller()' },
  { module: 'aacraid', kind: 'kdump', what: 'restarts the adapter at init when reset_devices (or aacraid.aac_reset_devices) is set', source: 'drivers/scsi/aacraid/linit.c aac_probe_one() (aac->init_reset), src.c aac_src_init() → aac_src_restart_adapter()' },
  { module: 'smartpqi', kind: 'kdump', what: 'soft-resets the controller (sis_soft_reset) when reset_devices is set', source: 'drivers/scsi/smartpqi/smartpqi_init.c pqi_ctrl_init()' },
  { module: 'megaraid_sas', kind: 'kdump', what: 'turns MSI-X off at probe when reset_devices is set and brings the firmware back to READY before new queues', source: 'drivers/scsi/megaraid/megaraid_sas_base.c megasas_probe_one(), megasas_init_fw()' },
  { module: 'bnx2x', kind: 'kdump', what: 'unloads what the previous driver left running (bnx2x_prev_unload) and resets the chip', source: 'drivers/net/ethernet/broadcom/bnx2x/bnx2x_main.c bnx2x_init_one() → bnx2x_prev_unload()' },
  { module: 'nvme', kind: 'probe', what: 'disables the controller (CC.EN=0, a controller reset) before it sets up the admin queue', source: 'drivers/nvme/host/pci.c nvme_reset_work() → nvme_pci_configure_admin_queue() → nvme_disable_ctrl()' },
  { module: 'ahci', kind: 'probe', what: 'resets the HBA (GHC.HR) at init unless ahci.skip_host_reset', source: 'drivers/ata/ahci.c ahci_init_one() → ahci_pci_reset_controller() → libahci.c ahci_reset_controller()' },
  { module: 'xhci_pci', kind: 'probe', what: 'halts and resets the host controller (USBCMD.HCRST) at setup', source: 'drivers/usb/host/xhci.c xhci_gen_setup() → xhci_halt(), xhci_reset()' },
  { module: 'virtio_pci', kind: 'probe', what: 'resets the device (status 0) before a virtio driver binds', source: 'drivers/virtio/virtio.c register_virtio_device() → virtio_reset_device() ("in case a previous driver messed it up")' },
  { module: 'mpt3sas', kind: 'probe', what: 'brings the IOC to READY with a message-unit or diagnostic reset at attach', source: 'drivers/scsi/mpt3sas/mpt3sas_base.c mpt3sas_base_attach() → _base_make_ioc_ready()' },
  { module: 'e1000', kind: 'probe', what: 'resets the controller before reading its EEPROM ("put the device in a known good starting state")', source: 'drivers/net/ethernet/intel/e1000/e1000_main.c e1000_probe() → e1000_reset_hw()' },
  { module: 'e1000e', kind: 'probe', what: 'resets the MAC (CTRL.RST) at probe', source: 'drivers/net/ethernet/intel/e1000e/netdev.c e1000_probe() → e1000e_reset() → mac.ops.reset_hw()' },
  { module: 'igb', kind: 'probe', what: 'resets the MAC at probe', source: 'drivers/net/ethernet/intel/igb/igb_main.c igb_probe() → hw->mac.ops.reset_hw()' },
  { module: 'ixgbe', kind: 'probe', what: 'resets the MAC at probe', source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c ixgbe_probe() → hw->mac.ops.reset_hw()' },
  { module: 'i40e', kind: 'probe', what: 'issues a PF reset at probe', source: 'drivers/net/ethernet/intel/i40e/i40e_main.c i40e_probe() → i40e_pf_reset()' },
];

const BY_MODULE = new Map(STOPPING_DRIVERS.map((d) => [d.module, d]));

export function stoppingDriver(module: string): StoppingDriver | null {
  return BY_MODULE.get(module) ?? null;
}

/**
 * Host-controller drivers that refuse to probe under `usbcore.nousb` (usb_hcd_pci_probe() returns
 * -ENODEV when usb_disabled(), drivers/usb/core/hcd-pci.c); kdump-tools appends `usbcore.nousb`.
 */
export const USB_HCD_MODULES = new Set(['xhci_pci', 'xhci_hcd', 'ehci_pci', 'ehci_hcd', 'ohci_pci', 'ohci_hcd', 'uhci_hcd']);
