import { concat, newcArchive, storedGzip, withParents, type CpioSpec } from '../kdump-image.js';
import { MockTree, type MockFunction } from '../tree-builder.js';
import { serverFunctions } from './server.js';

/**
 * The server example with a Debian kdump-tools setup around it, for `audit`: /etc/default/kdump-tools,
 * the kdump image kdump-tools builds (/var/lib/kdump/initrd.img-<ver>: a microcode cpio in front of a
 * gzip'd main archive, as initramfs-tools writes it), the first kernel's module tables, and the
 * reservation. The image carries the agent and the drivers of the storage and NIC functions, but not
 * amdgpu (kdump images leave GPU drivers out): the Radeon, bound to amdgpu now and with no safe reset,
 * is the device that keeps doing DMA. mlx5_core is missing too, but the agent resets that function.
 */
export const KDUMP_RELEASE = '6.1.0-26-amd64';

/** `alias` lines as depmod writes them, for the drivers of the server's functions. */
const ALIASES: Record<string, string[]> = {
  nvme: ['pci:v*d*sv*sd*bc01sc08i02*'],
  i40e: ['pci:v00008086d00001572sv*sd*bc*sc*i*'],
  iavf: ['pci:v00008086d0000154Csv*sd*bc*sc*i*'],
  megaraid_sas: ['pci:v00001000d0000005Dsv*sd*bc*sc*i*'],
  e1000: ['pci:v00008086d0000107Csv*sd*bc*sc*i*'],
  snd_hda_intel: ['pci:v00001002d0000AAF0sv*sd*bc*sc*i*'],
  mlx5_core: ['pci:v000015B3d00001017sv*sd*bc*sc*i*'],
  amdgpu: ['pci:v00001002d000067DFsv*sd*bc*sc*i*'],
  i2c_i801: ['pci:v00008086d0000A1A3sv*sd*bc*sc*i*'],
};
const BUILTIN: Record<string, string[]> = { xhci_pci: ['pci:v*d*sv*sd*bc0Csc03i30*'] };
const MODULE_PATHS: Record<string, string> = {
  nvme: 'kernel/drivers/nvme/host/nvme.ko',
  i40e: 'kernel/drivers/net/ethernet/intel/i40e/i40e.ko',
  iavf: 'kernel/drivers/net/ethernet/intel/iavf/iavf.ko',
  megaraid_sas: 'kernel/drivers/scsi/megaraid/megaraid_sas.ko',
  e1000: 'kernel/drivers/net/ethernet/intel/e1000/e1000.ko',
  snd_hda_intel: 'kernel/sound/pci/hda/snd-hda-intel.ko',
  mlx5_core: 'kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko',
  amdgpu: 'kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko',
  i2c_i801: 'kernel/drivers/i2c/busses/i2c-i801.ko',
};
/** What kdump-tools' MODULES=dep image holds: storage and network, no GPU, no mlx5, no sound. */
const IN_IMAGE = ['nvme', 'i40e', 'iavf', 'megaraid_sas', 'e1000', 'i2c_i801'];

const aliasFile = (mods: string[], table: Record<string, string[]>): string =>
  `# Aliases extracted from modules themselves.\n${mods.flatMap((m) => (table[m] ?? []).map((a) => `alias ${a} ${m}`)).join('\n')}\n`;

/**
 * The admin's own table: no bus reset for the Radeon (on this board its link does not come back after
 * one). kdump-tools' hook copied /etc/pci-reset-agent into the image when it was built, so the image
 * carries it too: the capture kernel's agent reads the image's copy, and `audit` plans with that one.
 */
const RADEON_QUIRKS = '1002:67df  no_bus  reason="this board: the link does not come back after a secondary bus reset (admin, kdump tests)"\n';

/** What the image's agent runs with: its kdump.conf, and whether the admin's quirk table went in (tests vary them). */
export interface ImageAgentSetup {
  kdumpConf?: string;
  quirks?: boolean;
}

export function kdumpImage(agent: ImageAgentSetup = {}): Uint8Array {
  const dir = `usr/lib/modules/${KDUMP_RELEASE}`;
  const main: CpioSpec[] = [
    { name: 'init', data: '#!/bin/sh\n# initramfs-tools init (stub)\n', mode: 0o755 },
    { name: 'lib', target: 'usr/lib' },
    { name: 'bin', target: 'usr/bin' },
    { name: `${dir}/modules.alias`, data: aliasFile(IN_IMAGE, ALIASES) },
    { name: `${dir}/modules.builtin.alias`, data: aliasFile(Object.keys(BUILTIN), BUILTIN) },
    { name: `${dir}/modules.builtin`, data: 'kernel/drivers/usb/host/xhci-pci.ko\n' },
    ...IN_IMAGE.map((m) => ({ name: `${dir}/${MODULE_PATHS[m]!}`, data: `stub module ${m}\n` })),
    { name: 'usr/lib/pci-reset-agent/pci-reset-agent.mjs', data: "#!/usr/bin/env node\n// bundle stub: program.version('0.1.0')\n" },
    { name: 'usr/lib/pci-reset-agent/node.squashfs', data: 'hsqs' },
    { name: 'usr/libexec/pci-reset-agent/pci-reset-agent-kdump', data: '#!/bin/sh\n', mode: 0o755 },
    { name: 'etc/pci-reset-agent/kdump.conf', data: agent.kdumpConf ?? 'PRA_ENABLE=yes\n' },
    ...(agent.quirks === false ? [] : [{ name: 'etc/pci-reset-agent/quirks.d/50-radeon.quirks', data: RADEON_QUIRKS }]),
  ];
  const microcode = newcArchive(withParents([{ name: 'kernel/x86/microcode/GenuineIntel.bin', data: 'microcode stub\n' }]));
  return concat([microcode, storedGzip(newcArchive(withParents(main)))]);
}

export function kdumpServerTree(agent: ImageAgentSetup = {}): MockTree {
  // The Radeon is bound to amdgpu in the first kernel (Bus Master on): it is a DMA master. The admin keeps
  // amdgpu out of the capture kernel (modprobe.blacklist=, the usual hand-made fix for a GPU driver hanging
  // kdump); without it, kdump-tools' capture kernel would load amdgpu from the root file system.
  const fns = serverFunctions().map((f): MockFunction => (f.bdf === '0000:08:00.0' ? { ...f, driver: 'amdgpu' } : f));
  const hostDir = `lib/modules/${KDUMP_RELEASE}`;
  return new MockTree()
    .addAll(fns)
    .file('proc/cmdline', `BOOT_IMAGE=/vmlinuz-${KDUMP_RELEASE} root=/dev/mapper/vg-root ro intel_iommu=on iommu=pt crashkernel=512M\n`)
    .file('proc/sys/kernel/osrelease', `${KDUMP_RELEASE}\n`)
    .file('sys/kernel/kexec_crash_size', '536870912\n')
    .file('sys/kernel/kexec_crash_loaded', '1\n')
    .file('etc/default/kdump-tools', 'USE_KDUMP=1\nKDUMP_KERNEL=/var/lib/kdump/vmlinuz\nKDUMP_INITRD=/var/lib/kdump/initrd.img\nKDUMP_COREDIR="/var/crash"\nKDUMP_CMDLINE_APPEND="reset_devices systemd.unit=kdump-tools-dump.service nr_cpus=1 irqpoll usbcore.nousb modprobe.blacklist=amdgpu"\n')
    // The admin's table (RADEON_QUIRKS, also in the image): with amdgpu kept out and no FLR, no PM reset
    // (quirk_no_pm_reset) and no bus reset, nothing stops the Radeon. Without it the capture kernel's agent
    // would reset it through its root port: no driver is bound there yet, nothing speaks against it.
    .file('etc/pci-reset-agent/quirks.d/50-radeon.quirks', RADEON_QUIRKS)
    .file(`var/lib/kdump/initrd.img-${KDUMP_RELEASE}`, kdumpImage(agent))
    .link('var/lib/kdump/initrd.img', `initrd.img-${KDUMP_RELEASE}`)
    .file(`${hostDir}/modules.alias`, aliasFile(Object.keys(ALIASES), ALIASES))
    .file(`${hostDir}/modules.builtin.alias`, aliasFile(Object.keys(BUILTIN), BUILTIN));
}
