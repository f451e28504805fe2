import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedTree } from '../src/mock/examples/generated.js';
import { cleanupRoots, dmesg, q35Functions, writeScenario, VTD_GSTS, VTD_RTADDR } from '../test/iommu/mock-roots.js';
import { dmarTable, drhd, qemuQ35Dmar } from '../test/iommu/acpi-bytes.js';
import { median } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, '../src/cli/bin.js');
const NODE_ARGS = ['--max-semi-space-size=1', BIN];

/** A capture kernel's log: the kdump lines of the QEMU run, padded with `noise` unrelated lines (a busy boot). */
function captureLog(noise: number): string {
  const lines = ['Linux version 6.1.0-56-amd64 (x)', 'DMAR: DRHD base: 0x000000fed90000 flags: 0x0', 'DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a'];
  for (let i = 0; i < noise; i++) lines.push(`usb 1-${i % 8}: new high-speed USB device number ${i} using xhci_hcd`);
  lines.push('DMAR: Translation already enabled - trying to copy translation structures', 'DMAR: Copied translation tables from previous kernel for dmar0', 'DMAR: Intel(R) Virtualization Technology for Directed I/O');
  for (let i = 0; i < noise / 100; i++) lines.push(`DMAR: [DMA Read NO_PASID] Request device [02:00.0] fault addr 0x${(i * 4096).toString(16)} [fault reason 0x06] PTE Read access is not set`);
  return dmesg(...lines);
}

const mem = [{ base: 0xfed90000n, values: { [VTD_GSTS]: [4, 0xc7000000], [VTD_RTADDR]: [8, 0x7ffe000n], 0x10: [8, 0xf00f4an], 0x08: [8, 0xd2008c22260286n] } as Record<number, [4 | 8, bigint | number]> }];

/**
 * `iommu --json` against `scan --json` on the same mock capture-kernel roots (the difference is the
 * IOMMU step's own cost: ACPI tables, sysfs, the log, registers through a dev/mem file, the verdict),
 * wall time and peak RSS, median of 5 warm runs.
 */
export async function benchIommu(runs = 5): Promise<string> {
  const rows: string[] = [];
  const cases: { name: string; n: number; noise: number; build: () => string }[] = [
    {
      name: 'QEMU q35 guest, case 4',
      n: q35Functions().length,
      noise: 600,
      build: () => writeScenario({ capture: true, cmdline: 'intel_iommu=on', tables: { DMAR: qemuQ35Dmar() }, sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000', devices: q35Functions().map((f) => f.bdf) }], kmsg: captureLog(600), mem }).dir,
    },
    {
      name: 'generated:5000, 1 INCLUDE_PCI_ALL unit, 100k-line log',
      n: generatedTree(5000).functions.length,
      noise: 100_000,
      build: () =>
        writeScenario({
          capture: true,
          cmdline: 'intel_iommu=on',
          functions: generatedTree(5000).functions,
          tables: { DMAR: dmarTable({ hostAddressWidth: 46, intrRemap: true, structures: [drhd({ base: 0xfed90000, includePciAll: true })] }) },
          sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000' }],
          kmsg: captureLog(100_000),
          mem,
        }).dir,
    },
  ];
  try {
    for (const c of cases) {
      const dir = c.build();
      const scan = median(process.execPath, [...NODE_ARGS, 'scan', '--root', dir, '--json'], runs);
      const iommu = median(process.execPath, [...NODE_ARGS, 'iommu', '--root', dir, '--json'], runs);
      const kb = (k: number | null): string => (k === null ? 'n/a' : `${(k / 1024).toFixed(1)} MB`);
      rows.push(`| ${c.name} | ${c.n} | ${c.noise} | ${scan.wallMs.toFixed(0)} ms | ${iommu.wallMs.toFixed(0)} ms | ${(iommu.wallMs - scan.wallMs).toFixed(0)} ms | ${kb(iommu.peakRssKb)} |`);
    }
  } finally {
    cleanupRoots();
  }
  return [
    '| root | functions | log lines (besides the IOMMU ones) | `scan --json` wall | `iommu --json` wall | IOMMU step | `iommu` peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
