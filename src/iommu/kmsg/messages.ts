/**
 * The kernel messages the verdict reads, one entry per message, with every wording found in kernel
 * sources (drivers/iommu/intel/{iommu,dmar,irq_remapping}.c, drivers/iommu/amd/{init,iommu}.c, older
 * drivers/pci/intel-iommu.c and drivers/iommu/intel-iommu.c, arch/x86/kernel/amd_iommu.c). Patterns are
 * not anchored: prefixes differ by version (`DMAR: `, `dmar: `, `DMAR-IR: `, `AMD-Vi: `, a device name
 * from dev_printk) and are not part of the meaning.
 */
export type LogEvent =
  | { kind: 'linux-version'; release: string }
  | { kind: 'cmdline'; text: string }
  | { kind: 'intel-unit'; unit: string; address: string }
  | { kind: 'intel-drhd'; address: string; flags: number }
  | { kind: 'intel-cmdline'; state: 'on' | 'off' }
  | { kind: 'intel-remapping-on' }
  | { kind: 'intel-init-failed' }
  | { kind: 'intel-pre-enabled-not-kdump'; unit: string }
  | { kind: 'intel-copy-attempt' }
  | { kind: 'intel-copied'; unit: string }
  | { kind: 'intel-copy-failed'; unit: string }
  | { kind: 'ir-pre-enabled-not-kdump'; unit: string }
  | { kind: 'ir-copied'; unit: string }
  | { kind: 'ir-copy-failed'; unit: string }
  | { kind: 'ir-enabled'; mode: string }
  | { kind: 'amd-pre-enabled-not-kdump'; unit: string }
  | { kind: 'amd-copy-attempt'; verb: 'copy' | 'reuse' }
  | { kind: 'amd-copied'; verb: 'copied' | 'reused' }
  | { kind: 'amd-copy-failed'; verb: 'copy' | 'reuse' }
  | { kind: 'amd-found'; bdf: string | null }
  | { kind: 'amd-ir-enabled' }
  | { kind: 'amd-buffers-reused' }
  | { kind: 'amd-efr'; efr: bigint; efr2: bigint | null; snp: boolean }
  | { kind: 'amd-perf'; index: number }
  | { kind: 'amd-snp-enabled' }
  | { kind: 'amd-reusing'; what: 'event buffer' | 'command buffer' | 'CWB buffers' }
  | { kind: 'amd-completion-wait-timeout' }
  | { kind: 'intel-context-copy-failed'; unit: string; bus: number }
  | { kind: 'smmu-reset' }
  | { kind: 'smmu-probed'; device: string | null }
  | { kind: 'default-domain'; type: string }
  | { kind: 'fault-status'; status: string }
  | Fault;

export interface Fault {
  kind: 'fault';
  vendor: 'intel' | 'amd';
  /** `dma` (a translated request was refused) or `irq` (an interrupt-remapping fault). */
  type: 'dma' | 'irq';
  /** Segment when the message names it, else null (VT-d fault records carry only bus/dev/fn). */
  segment: number | null;
  bus: number;
  dev: number;
  fn: number;
  /** `DMA Read`, `DMA Write`, `IO_PAGE_FAULT`, `ILLEGAL_DEV_TABLE_ENTRY`, `INTR-REMAP`. */
  access: string;
  address: string | null;
  reason: string | null;
}

/** The Debian kernels the QEMU e2e matrix boots (fixture directories end in `-<label>`). */
export type E2eKernel = '6.1' | '6.12';

export interface MessageSpec {
  /** Name used in problems about cut lines. */
  name: string;
  /**
   * Where the wording was checked: `source`, the kernel source read (Linux 6.18.19 file:line, or the range of
   * older versions); `e2e`, the Debian kernels whose real logs in test/fixtures/iommu/*-<label> print it.
   * test/iommu/message-table.test.ts holds `e2e` to the fixtures and docs/iommu.md's per-kernel table to both.
   */
  checked: { source: string; e2e: readonly E2eKernel[] };
  /** A cut line of this message changes the verdict (its absence or content is evidence). */
  decisive: boolean;
  /** The literal start of the message, used to recognise a line cut part-way through it. */
  phrase: string;
  re: RegExp;
  build: (m: RegExpExecArray) => LogEvent;
}

const hex = (s: string): number => parseInt(s, 16);
const BDF_FULL = '([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\\.([0-7])';

/** VT-d fault reason numbers were `%02d` (decimal) before 5.x and `0x%02x` after; an `h` suffix means hex too. */
function faultReason(prefix: string | undefined, digits: string | undefined, suffix: string | undefined): string | null {
  if (digits === undefined) return null;
  const n = prefix || suffix ? parseInt(digits, 16) : parseInt(digits, 10);
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** The fault reason code followed by the kernel's description of it, or null when the line had no reason. */
function reasonWithText(prefix: string | undefined, digits: string | undefined, suffix: string | undefined, text: string | undefined): string | null {
  const code = faultReason(prefix, digits, suffix);
  return code === null ? null : `${code}${text ? ` ${text.trim()}` : ''}`;
}

export const MESSAGES: MessageSpec[] = [
  {
    name: 'Linux version',
    checked: { source: 'init/version.c linux_banner (not in the unpacked 6.18.19 subset; unchanged since 2.6)', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'Linux version ',
    re: /Linux version (\S+)/,
    build: (m) => ({ kind: 'linux-version', release: m[1]! }),
  },
  {
    name: 'command line',
    checked: { source: 'x86 setup_arch() "Command line:", start_kernel() "Kernel command line:" (not in the unpacked subset; unchanged since 2.6)', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'Command line: ',
    re: /^(?:Kernel )?[Cc]ommand line: (.*)$/,
    build: (m) => ({ kind: 'cmdline', text: m[1]!.trim() }),
  },
  {
    // 4.x+: "DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap … ecap …"; 2.6–3.x: "dmar: IOMMU 0: reg_base_addr …".
    name: 'unit register base',
    checked: { source: '6.18.19 intel/dmar.c:1104 (4.x+); "IOMMU N: reg_base_addr" 2.6–3.x', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: ': reg_base_addr ',
    re: /(?:(dmar\d+)|IOMMU (\d+)): reg_base_addr ([0-9a-f]+) ver/i,
    build: (m) => ({ kind: 'intel-unit', unit: m[1] ?? `dmar${m[2]}`, address: `0x${m[3]!.toLowerCase().replace(/^0+(?=.)/, '')}` }),
  },
  {
    name: 'DRHD base',
    checked: { source: '6.18.19 intel/dmar.c:534', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'DRHD base: ',
    re: /DRHD base: (?:0x)?([0-9a-f]+) flags: (?:0x)?([0-9a-f]+)/i,
    build: (m) => ({ kind: 'intel-drhd', address: `0x${m[1]!.toLowerCase().replace(/^0+(?=.)/, '')}`, flags: hex(m[2]!) }),
  },
  {
    // intel_iommu_setup(): "DMAR: IOMMU enabled|disabled" (4.x+), "Intel-IOMMU: enabled|disabled" (2.6–3.x).
    name: 'intel_iommu= option',
    checked: { source: '6.18.19 intel/iommu.c:249 ("Intel-IOMMU: enabled|disabled" 2.6–3.x)', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'IOMMU enabled',
    re: /(?:\b(?:DMAR|dmar): IOMMU |Intel-IOMMU: )(enabled|disabled)\s*$/,
    build: (m) => ({ kind: 'intel-cmdline', state: m[1] === 'enabled' ? 'on' : 'off' }),
  },
  {
    // Printed at the end of intel_iommu_init() once DMA remapping is set up ("PCI-DMA: " prefix before 3.x).
    name: 'VT-d initialised',
    checked: { source: '6.18.19 intel/iommu.c:3156 ("PCI-DMA: " prefix before 3.x)', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'Intel(R) Virtualization Technology for Directed I/O',
    re: /Intel\(R\) Virtualization Technology for Directed I\/O/,
    build: () => ({ kind: 'intel-remapping-on' }),
  },
  {
    name: 'VT-d init failed',
    checked: { source: '6.18.19 intel/iommu.c:3108', e2e: [] },
    decisive: true,
    phrase: 'Initialization failed',
    re: /DMAR: Initialization failed|IOMMU: dmar init failed/,
    build: () => ({ kind: 'intel-init-failed' }),
  },
  {
    name: 'translation enabled outside kdump',
    checked: { source: '6.18.19 intel/iommu.c:2124', e2e: [] },
    decisive: true,
    phrase: 'Translation was enabled for ',
    re: /Translation was enabled for (dmar\d+) but we are not in kdump mode/,
    build: (m) => ({ kind: 'intel-pre-enabled-not-kdump', unit: m[1]! }),
  },
  {
    name: 'translation already enabled',
    checked: { source: '6.18.19 intel/iommu.c:2138', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'Translation already enabled - trying to copy translation structures',
    re: /Translation already enabled - trying to copy translation structures/,
    build: () => ({ kind: 'intel-copy-attempt' }),
  },
  {
    name: 'translation tables copied',
    checked: { source: '6.18.19 intel/iommu.c:2156', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'Copied translation tables from previous kernel for ',
    re: /Copied translation tables from previous kernel for (dmar\d+)/,
    build: (m) => ({ kind: 'intel-copied', unit: m[1]! }),
  },
  {
    name: 'translation table copy failed',
    checked: { source: '6.18.19 intel/iommu.c:2151', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'Failed to copy translation tables from previous kernel for ',
    re: /Failed to copy translation tables from previous kernel for (dmar\d+)/,
    build: (m) => ({ kind: 'intel-copy-failed', unit: m[1]! }),
  },
  {
    name: 'IRQ remapping enabled outside kdump',
    checked: { source: '6.18.19 intel/irq_remapping.c:589', e2e: [] },
    decisive: false,
    phrase: 'IRQ remapping was enabled on ',
    re: /IRQ remapping was enabled on (dmar\d+) but we are not in kdump mode/,
    build: (m) => ({ kind: 'ir-pre-enabled-not-kdump', unit: m[1]! }),
  },
  {
    name: 'IR table copied',
    checked: { source: '6.18.19 intel/irq_remapping.c:597', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'Copied IR table for ',
    re: /Copied IR table for (dmar\d+) from previous kernel/,
    build: (m) => ({ kind: 'ir-copied', unit: m[1]! }),
  },
  {
    name: 'IR table copy failed',
    checked: { source: '6.18.19 intel/irq_remapping.c:594', e2e: [] },
    decisive: false,
    phrase: 'Failed to copy IR table for ',
    re: /Failed to copy IR table for (dmar\d+) from previous kernel/,
    build: (m) => ({ kind: 'ir-copy-failed', unit: m[1]! }),
  },
  {
    name: 'IRQ remapping enabled',
    checked: { source: '6.18.19 intel/irq_remapping.c:819', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'Enabled IRQ remapping in ',
    re: /Enabled IRQ remapping in (x2apic|xapic) mode/,
    build: (m) => ({ kind: 'ir-enabled', mode: m[1]! }),
  },
  {
    name: 'AMD translation enabled outside kdump',
    checked: { source: '6.18.19 amd/init.c:1964', e2e: [] },
    decisive: true,
    phrase: 'Translation was enabled for IOMMU:',
    re: /Translation was enabled for IOMMU:(\d+) but we are not in kdump mode/,
    build: (m) => ({ kind: 'amd-pre-enabled-not-kdump', unit: `ivhd${m[1]}` }),
  },
  {
    // "…trying to copy…" up to 6.17, "…trying to reuse…" since the 6.18 rework.
    name: 'AMD translation already enabled',
    checked: { source: '6.18.19 amd/init.c:1208 ("reuse"; "copy" up to 6.17)', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'Translation is already enabled - trying to ',
    re: /Translation is already enabled - trying to (copy|reuse) translation structures/,
    build: (m) => ({ kind: 'amd-copy-attempt', verb: m[1] as 'copy' | 'reuse' }),
  },
  {
    name: 'AMD device table copied',
    checked: { source: '6.18.19 amd/init.c:2939 ("Reused"; "Copied" up to 6.17)', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'Copied DEV table from previous kernel',
    re: /(Copied|Reused) DEV table from previous kernel/,
    build: (m) => ({ kind: 'amd-copied', verb: m[1] === 'Copied' ? 'copied' : 'reused' }),
  },
  {
    name: 'AMD device table copy failed',
    checked: { source: '6.18.19 amd/init.c:2918 ("reuse"; "copy" up to 6.17)', e2e: [] },
    decisive: true,
    phrase: 'Failed to copy DEV table from previous kernel',
    re: /Failed to (copy|reuse) DEV table from previous kernel/,
    build: (m) => ({ kind: 'amd-copy-failed', verb: m[1] as 'copy' | 'reuse' }),
  },
  {
    // amd_iommu_init_pci(): "pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40" (5.x+),
    // "AMD-Vi: Found IOMMU at 0000:00:00.2 cap 0x40" (3.x–4.x). Printed once the unit is enabled.
    name: 'AMD IOMMU found',
    checked: { source: '6.1 amd/init.c amd_iommu_init_pci() (gone from mainline by 6.18.19); "Found IOMMU at … cap" 3.x–4.x', e2e: ['6.1'] },
    decisive: true,
    phrase: 'Found IOMMU',
    re: new RegExp(`(?:${BDF_FULL}: )?AMD-Vi: Found IOMMU(?: at ${BDF_FULL})? cap 0x[0-9a-f]+`, 'i'),
    build: (m) => ({ kind: 'amd-found', bdf: m[1] ? `${m[1]}:${m[2]}:${m[3]}.${m[4]}` : m[5] ? `${m[5]}:${m[6]}:${m[7]}.${m[8]}` : null }),
  },
  {
    name: 'AMD interrupt remapping',
    checked: { source: '6.18.19 amd/init.c:2289', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'AMD-Vi: Interrupt remapping enabled',
    re: /AMD-Vi: Interrupt remapping enabled/,
    build: () => ({ kind: 'amd-ir-enabled' }),
  },
  {
    name: 'AMD buffers reused',
    checked: { source: 'pre-6.18 wording of the event/command buffer reuse (not in 6.18.19)', e2e: [] },
    decisive: false,
    phrase: 'event/command buffer',
    re: /Re-?using (?:the )?event\/command buffers? from the previous kernel/i,
    build: () => ({ kind: 'amd-buffers-reused' }),
  },
  {
    // print_iommu_info() (amd/init.c:2272 in 6.18.19): "AMD-Vi: Extended features (0x…, 0x…): PPR NX GT IA GA PC
    // SNP". Once per unit with "Found IOMMU cap" before (6.1), once globally in 6.12 and 6.18 (EFR from
    // the IVHD). Printed from amd_iommu_init_pci(), i.e. only after early_enable_iommus() set IommuEn on
    // every unit; " SNP" is EFR bit 63 (FEATURE_SNP). 4.x printed "Extended features (0x…):" alone.
    name: 'AMD extended features',
    checked: { source: '6.18.19 amd/init.c:2272', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'AMD-Vi: Extended features (',
    re: /AMD-Vi: Extended features \((0x[0-9a-f]+)(?:, (0x[0-9a-f]+))?\):?(.*)$/i,
    build: (m) => ({ kind: 'amd-efr', efr: BigInt(m[1]!), efr2: m[2] ? BigInt(m[2]) : null, snp: /\bSNP\b/.test(m[3] ?? '') }),
  },
  {
    // arch/x86/events/amd/iommu.c amd_iommu_pc_init(): "perf/amd_iommu: Detected AMD IOMMU #0 (2 banks, 4
    // counters/bank)." for each unit whose performance counters init_iommu_perf_ctr() found, which runs
    // from iommu_init_pci() after the units were enabled (4.x–6.18).
    name: 'AMD IOMMU perf counters',
    checked: { source: 'arch/x86/events/amd/iommu.c amd_iommu_pc_init() (not in the unpacked subset; 4.x–6.18 upstream)', e2e: [] },
    decisive: false,
    phrase: 'perf/amd_iommu: Detected AMD IOMMU #',
    re: /perf\/amd_iommu: Detected AMD IOMMU #(\d+)/,
    build: (m) => ({ kind: 'amd-perf', index: Number(m[1]) }),
  },
  {
    // iommu_snp_enable() (amd/init.c:3382 in 6.18.19; 6.1 and 6.12 alike): host SNP on, the device table
    // base register is then locked by the firmware.
    name: 'AMD IOMMU SNP enabled',
    checked: { source: '6.18.19 amd/init.c:3382', e2e: [] },
    decisive: true,
    phrase: 'IOMMU SNP support enabled',
    re: /IOMMU SNP support enabled/,
    build: () => ({ kind: 'amd-snp-enabled' }),
  },
  {
    // alloc_iommu_buffers() in a kdump kernel (amd/init.c:991/1002/1018 in 6.18.19, since "iommu/amd: Reuse
    // device table for kdump" 38e5f33ee359 and its 6.17.y backport): three pr_info_once lines; the CWB one
    // only when EFR has FEATURE_SNP. Printed in every kdump boot of such a kernel, whether or not the
    // crashed kernel had translation on: they tell the kernel's generation, not the old state.
    name: 'AMD buffers re-used',
    checked: { source: '6.18.19 amd/init.c:991/1002/1018', e2e: [] },
    decisive: false,
    phrase: 'Re-using ',
    re: /Re-using (event buffer|command buffer|CWB buffers) from the previous kernel/,
    build: (m) => ({ kind: 'amd-reusing', what: m[1] as 'event buffer' | 'command buffer' | 'CWB buffers' }),
  },
  {
    // wait_on_sem() (amd/iommu.c:1170 in 6.18.19; 4.x–6.18): a command the IOMMU never completed. In a
    // kdump kernel with SNP and a "copied" device table the hardware still uses the old one and every
    // command times out (the reason for 38e5f33ee359).
    name: 'AMD completion-wait timeout',
    checked: { source: '6.18.19 amd/iommu.c:1170', e2e: [] },
    decisive: true,
    phrase: 'Completion-Wait loop timed out',
    re: /Completion-Wait loop timed out/,
    build: () => ({ kind: 'amd-completion-wait-timeout' }),
  },
  {
    // copy_translation_tables() (intel/iommu.c:2055 in 6.18.19; 4.4–6.18): the bus's context entries are
    // not copied, yet "Copied translation tables … for dmarN" still follows.
    name: 'VT-d context table copy failed',
    checked: { source: '6.18.19 intel/iommu.c:2055', e2e: [] },
    decisive: true,
    phrase: 'Failed to copy context table for bus ',
    re: /(dmar\d+): Failed to copy context table for bus (\d+)/,
    build: (m) => ({ kind: 'intel-context-copy-failed', unit: m[1]!, bus: Number(m[2]) }),
  },
  {
    // arm_smmu_device_reset() (arm/arm-smmu-v3/arm-smmu-v3.c in 6.18.19, 4.8–6.18): CR0.SMMUEN was found set,
    // so the kernel before left the SMMU translating; it sets GBPA=ABORT and disables it.
    name: 'SMMUv3 found enabled',
    checked: { source: '6.18.19 arm/arm-smmu-v3/arm-smmu-v3.c:4184', e2e: ['6.1', '6.12'] },
    decisive: true,
    phrase: 'SMMU currently enabled! Resetting',
    re: /SMMU currently enabled! Resetting/,
    build: () => ({ kind: 'smmu-reset' }),
  },
  {
    // arm_smmu_device_hw_probe(): "arm-smmu-v3 arm-smmu-v3.0.auto: ias 44-bit, oas 44-bit (features 0x00008305)"
    // (4.8–6.18); the driver enables SMMUEN in arm_smmu_device_reset() right after.
    name: 'SMMUv3 probed',
    checked: { source: '6.18.19 arm/arm-smmu-v3/arm-smmu-v3.c:4588', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'ias ',
    re: /^(?:arm-smmu-v3 (\S+): )?ias \d+-bit, oas \d+-bit \(features 0x[0-9a-f]+\)/,
    build: (m) => ({ kind: 'smmu-probed', device: m[1] ? m[1].replace(/:$/, '') : null }),
  },
  {
    name: 'default domain type',
    checked: { source: '6.18.19 iommu.c:219', e2e: ['6.1', '6.12'] },
    decisive: false,
    phrase: 'Default domain type: ',
    re: /iommu: Default domain type: (\w+)/,
    build: (m) => ({ kind: 'default-domain', type: m[1]! }),
  },
  {
    name: 'fault status',
    checked: { source: '6.18.19 intel/dmar.c:1949', e2e: ['6.12'] },
    decisive: false,
    phrase: 'DRHD: handling fault status reg ',
    re: /DRHD: handling fault status reg ([0-9a-f]+)/i,
    build: (m) => ({ kind: 'fault-status', status: `0x${m[1]!.toLowerCase()}` }),
  },
  {
    // Every VT-d DMA fault wording:
    //   2.6–4.1  "DMAR:[DMA Read] Request device [00:02.0] fault addr 7fe00000 \nDMAR:[fault reason 06] …"
    //   4.2–4.x  "DMAR: [DMA Read] Request device [00:02.0] fault addr 7fe00000 [fault reason 06] …"
    //   5.0–5.6  "DMAR: [DMA Read] Request device [00:02.0] PASID ffffffff fault addr … [fault reason 06] …"
    //   5.7      "DMAR: [DMA Read NO_PASID] Request device [0x00:0x02.0] fault addr 0x… [fault reason 0x06] …"
    //   5.8+     "DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x… [fault reason 0x06] …"
    //            "DMAR: [DMA Write PASID 0x2] Request device [00:02.0] fault addr 0x… [fault reason 0x05] …"
    name: 'VT-d DMA fault',
    checked: { source: '6.18.19 intel/dmar.c:1918/1924; older wordings listed above', e2e: ['6.12'] },
    decisive: false,
    phrase: '] Request device [',
    re: /\[(DMA (?:Read|Write))(?: NO_PASID| PASID (?:0x)?[0-9a-f]+| w\/o PASID| w\/ PASID (?:0x)?[0-9a-f]+)?\] Request device \[(?:0x)?([0-9a-f]{2}):(?:0x)?([0-9a-f]{2})\.([0-7])\](?: PASID [0-9a-f]+)? fault addr (?:0x)?([0-9a-f]+)(?:\s*\[fault reason (0x)?([0-9a-f]+)(h)?\]\s*(.*))?/i,
    build: (m) => ({
      kind: 'fault',
      vendor: 'intel',
      type: 'dma',
      segment: null,
      bus: hex(m[2]!),
      dev: hex(m[3]!),
      fn: Number(m[4]),
      access: m[1]!,
      address: `0x${m[5]!.toLowerCase()}`,
      reason: reasonWithText(m[6], m[7], m[8], m[9]),
    }),
  },
  {
    //   2.6–4.1  "INTR-REMAP: Request device [[f0:1f.0] fault index 21\nINTR-REMAP:[fault reason 34] …"
    //   4.2+     "DMAR: [INTR-REMAP] Request device [f0:1f.0] fault index 21 [fault reason 34] …" (0x… since 5.7)
    name: 'VT-d interrupt-remapping fault',
    checked: { source: '6.18.19 intel/dmar.c:1909; older wordings listed above', e2e: [] },
    decisive: false,
    phrase: 'Request device [',
    re: /(?:\[INTR-REMAP\]|INTR-REMAP:) Request device \[\[?(?:0x)?([0-9a-f]{2}):(?:0x)?([0-9a-f]{2})\.([0-7])\] fault index (?:0x)?([0-9a-f]+)(?:\s*\[fault reason (0x)?([0-9a-f]+)(h)?\]\s*(.*))?/i,
    build: (m) => ({
      kind: 'fault',
      vendor: 'intel',
      type: 'irq',
      segment: null,
      bus: hex(m[1]!),
      dev: hex(m[2]!),
      fn: Number(m[3]),
      access: 'INTR-REMAP',
      address: null,
      reason: reasonWithText(m[5], m[6], m[7], m[8]),
    }),
  },
  {
    // AMD events that name a device in the text:
    //   2.6–4.x  "AMD-Vi: Event logged [IO_PAGE_FAULT device=0a:00.0 domain=0x001d address=0x… flags=0x0000]"
    //            (2.6: "AMD IOMMU: Event logged [" then the rest as a second printk, i.e. a line of its own)
    //   5.x+     "AMD-Vi: Event logged [IO_PAGE_FAULT device=0000:0a:00.0 domain=… address=… flags=…]" (no pci_dev)
    //            "iommu ivhd0: AMD-Vi: Event logged [ILLEGAL_DEV_TABLE_ENTRY device=0000:00:14.0 pasid=… …]"
    name: 'AMD-Vi event',
    checked: { source: '6.18.19 amd/iommu.c:782/815/871; older wordings listed above', e2e: [] },
    decisive: false,
    phrase: 'Event logged [',
    re: /\b(IO_PAGE_FAULT|ILLEGAL_DEV_TABLE_ENTRY|DEV_TAB_HARDWARE_ERROR|PAGE_TAB_HARDWARE_ERROR|INVALID_DEVICE_REQUEST|RMP_PAGE_FAULT|RMP_HW_ERROR) (?:device|deice)=(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])\b(?:.*?address=(0x[0-9a-f]+))?/i,
    build: (m) => ({
      kind: 'fault',
      vendor: 'amd',
      type: 'dma',
      segment: m[2] ? hex(m[2]) : null,
      bus: hex(m[3]!),
      dev: hex(m[4]!),
      fn: Number(m[5]),
      access: m[1]!,
      address: m[6] ? m[6].toLowerCase() : null,
      reason: null,
    }),
  },
  {
    //   4.19+    "xhci_hcd 0000:47:00.1: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0032 address=0x… flags=0x0000]"
    //            (pci_err() on the device: the device is the prefix; 6.x may add " vflags=0x…")
    name: 'AMD-Vi device event',
    checked: { source: '6.18.19 amd/iommu.c (pci_err "Event logged [IO_PAGE_FAULT domain=…"), 4.19+', e2e: [] },
    decisive: false,
    phrase: 'AMD-Vi: Event logged [',
    re: new RegExp(`${BDF_FULL}: AMD-Vi: Event logged \\[(IO_PAGE_FAULT|RMP_PAGE_FAULT) domain=0x[0-9a-f]+(?: pasid=0x[0-9a-f]+)? address=(0x[0-9a-f]+)`, 'i'),
    build: (m) => ({
      kind: 'fault',
      vendor: 'amd',
      type: 'dma',
      segment: hex(m[1]!),
      bus: hex(m[2]!),
      dev: hex(m[3]!),
      fn: Number(m[4]),
      access: m[5]!,
      address: m[6]!.toLowerCase(),
      reason: null,
    }),
  },
  {
    // 5.x+ "AMD-Vi: Event logged [Device not attached to domain properly]" then "  device=0000:00:14.0 domain=0x0000".
    name: 'AMD-Vi unattached device',
    checked: { source: '6.18.19 amd/iommu.c:851-852', e2e: [] },
    decisive: false,
    phrase: 'device=',
    re: new RegExp(`^\\s*(?:AMD-Vi:\\s+)?device=${BDF_FULL} domain=0x[0-9a-f]+\\s*$`, 'i'),
    build: (m) => ({
      kind: 'fault',
      vendor: 'amd',
      type: 'dma',
      segment: hex(m[1]!),
      bus: hex(m[2]!),
      dev: hex(m[3]!),
      fn: Number(m[4]),
      access: 'IO_PAGE_FAULT (device not attached to a domain)',
      address: null,
      reason: null,
    }),
  },
];

/** The old two-line VT-d fault's second line: "DMAR:[fault reason 06] PTE Read access is not set". */
export const FAULT_REASON_LINE = /^(?:DMAR|INTR-REMAP):\s?\[fault reason (0x)?([0-9a-f]+)(h)?\]\s*(.*)$/i;

export function reasonFromLine(m: RegExpExecArray): string {
  // The pattern requires the reason digits, so there is always a code.
  return reasonWithText(m[1], m[2], m[3], m[4]) ?? '';
}
