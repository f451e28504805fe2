/**
 * `sys/kernel/debug/iommu/intel/iommu_regset` (CONFIG_INTEL_IOMMU_DEBUGFS): the Intel driver's own dump
 * of every active unit's registers, read by the kernel (drivers/iommu/intel/debugfs.c):
 *
 *   IOMMU: dmar0 Register Base Address: fed90000
 *   Name\t\t\tOffset\t\tContents
 *   VER             \t0x00\t\t0x0000000000000010
 *   GSTS            \t0x1c\t\t0x00000000c7000000
 */
export interface RegsetUnit {
  name: string;
  base: string;
  registers: Map<string, bigint>;
}

export function parseRegset(text: string): { units: RegsetUnit[]; problems: string[] } {
  const units: RegsetUnit[] = [];
  const problems: string[] = [];
  let current: RegsetUnit | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('Name')) continue;
    const head = /^IOMMU: (\S+) Register Base Address: (?:0x)?([0-9a-f]+)$/i.exec(line);
    if (head) {
      current = { name: head[1]!, base: `0x${head[2]!.toLowerCase().replace(/^0+(?=.)/, '')}`, registers: new Map() };
      units.push(current);
      continue;
    }
    const reg = /^([A-Z0-9_]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)$/i.exec(line);
    if (reg && current) {
      current.registers.set(reg[1]!.toUpperCase(), BigInt(`0x${reg[3]}`));
      continue;
    }
    problems.push(`line ${i + 1} not understood: ${line.slice(0, 80)}`);
  }
  return { units, problems };
}
