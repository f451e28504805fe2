import { MockTree, type MockFunction } from '../tree-builder.js';

/**
 * A large synthetic machine for benchmarks and property tests: per domain, root ports each leading to a
 * switch whose downstream ports hold NVMe drives, two-function NICs with VFs, conventional devices behind
 * PCIe-to-PCI bridges. Deterministic for a given size.
 */
export function generatedFunctions(count: number): MockFunction[] {
  const out: MockFunction[] = [];
  let domain = 0;
  let bus = 1;
  let port = 0;
  const hb = (): void => {
    out.push({ bdf: `${hex(domain, 4)}:00:00.0`, vendor: 0x8086, device: 0x09a2, classCode: 0x060000, iommuGroup: out.length });
  };
  hb();
  while (out.length < count) {
    // Each unit uses up to 10 buses: root port, switch up, 4 downstream ports, endpoints, a PCI bridge.
    if (bus + 10 > 0xff || port >= 0x1f) {
      domain++;
      bus = 1;
      port = 0;
      hb();
    }
    port++;
    const d = hex(domain, 4);
    const rpBdf = `${d}:00:${hex(port, 2)}.0`;
    const first = bus;
    const last = bus + 8;
    out.push({ bdf: rpBdf, vendor: 0x8086, device: 0x2030, classCode: 0x060400, bridge: { secondaryBus: first, subordinateBus: last }, pcie: { type: 'root_port', linkSpeed: 3, dllla: true, crsVisibility: true }, pm: {}, msi: true, aer: true, acs: true, driver: 'pcieport', iommuGroup: out.length });
    const up = `${d}:${hex(first, 2)}:00.0`;
    out.push({ bdf: up, parent: rpBdf, vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: first + 1, subordinateBus: last }, pcie: { type: 'upstream_port' }, pm: {}, driver: 'pcieport', iommuGroup: out.length });
    for (let i = 0; i < 4; i++) {
      const dsBus = first + 2 + i;
      const ds = `${d}:${hex(first + 1, 2)}:${hex(8 + i, 2)}.0`;
      out.push({ bdf: ds, parent: up, vendor: 0x10b5, device: 0x8747, classCode: 0x060400, bridge: { secondaryBus: dsBus, subordinateBus: i === 3 ? last : dsBus }, pcie: { type: 'downstream_port', dllla: true }, pm: {}, acs: true, driver: 'pcieport', iommuGroup: out.length });
      const b = hex(dsBus, 2);
      if (i === 0) {
        out.push({ bdf: `${d}:${b}:00.0`, parent: ds, vendor: 0x144d, device: 0xa808, classCode: 0x010802, subsystemVendor: 0x144d, subsystemDevice: 0xa801, pcie: { type: 'endpoint', flr: true }, pm: { noSoftReset: true }, msix: true, aer: true, driver: 'nvme', iommuGroup: out.length });
      } else if (i === 1) {
        for (const fn of [0, 1]) {
          out.push({ bdf: `${d}:${b}:00.${fn}`, parent: ds, vendor: 0x8086, device: 0x1572, classCode: 0x020000, subsystemVendor: 0x8086, subsystemDevice: 0x0001, pcie: { type: 'endpoint', flr: true }, pm: { noSoftReset: true }, msix: true, aer: true, sriov: { totalVfs: 64, numVfs: fn === 0 ? 4 : 0, vfDevice: 0x154c, offset: 0x10, stride: 1 }, driver: 'i40e', iommuGroup: out.length });
        }
        for (let v = 0; v < 4; v++) {
          out.push({ bdf: `${d}:${b}:02.${v}`, parent: ds, physfn: `${d}:${b}:00.0`, vendor: 0x8086, device: 0x154c, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, msix: true, driver: 'iavf', iommuGroup: out.length });
        }
      } else if (i === 2) {
        out.push({ bdf: `${d}:${b}:00.0`, parent: ds, vendor: 0x1002, device: 0x67df, classCode: 0x030000, pcie: { type: 'legacy_endpoint' }, pm: {}, msi: true, iommuGroup: out.length, flags: { noPm: true } });
        out.push({ bdf: `${d}:${b}:00.1`, parent: ds, vendor: 0x1002, device: 0xaaf0, classCode: 0x040300, pcie: { type: 'legacy_endpoint' }, pm: {}, msi: true, driver: 'snd_hda_intel', iommuGroup: out.length - 1 });
      } else {
        const pciBus = dsBus + 1;
        const br = `${d}:${b}:00.0`;
        out.push({ bdf: br, parent: ds, vendor: 0x1b21, device: 0x1080, classCode: 0x060401, bridge: { secondaryBus: pciBus, subordinateBus: pciBus }, pcie: { type: 'pcie_to_pci_bridge', linkSpeed: 1 }, pm: {}, iommuGroup: out.length });
        out.push({ bdf: `${d}:${hex(pciBus, 2)}:00.0`, parent: br, vendor: 0x8086, device: 0x107c, classCode: 0x020000, pm: { version: 2 }, af: { tp: true, flr: true }, driver: 'e1000', iommuGroup: out.length - 1 });
        out.push({ bdf: `${d}:${hex(pciBus, 2)}:01.0`, parent: br, vendor: 0x102b, device: 0x0522, classCode: 0x030000, pm: { version: 1 }, iommuGroup: out.length - 2 });
      }
    }
    bus = last + 1;
  }
  // Cutting at `count` may leave a child without its bridge or a VF without its PF: drop those, then
  // make up the number with integrated endpoints on a root bus of a fresh domain.
  const kept = new Set<string>();
  const result = out.slice(0, count).filter((f) => {
    const ok = (!f.parent || kept.has(f.parent)) && (!f.physfn || kept.has(f.physfn));
    if (ok) kept.add(f.bdf);
    return ok;
  });
  const padDomain = hex(domain + 1, 4);
  for (let i = 0; result.length < count; i++) {
    const dev = 1 + Math.floor(i / 8);
    result.push({ bdf: `${padDomain}:00:${hex(dev, 2)}.${i % 8}`, vendor: 0x8086, device: 0x0b60, classCode: 0x088000, pcie: { type: 'rc_integrated_endpoint', flr: true }, pm: {}, msix: true, iommuGroup: 100000 + i });
  }
  return result;
}

export function generatedTree(count: number): MockTree {
  return new MockTree().addAll(generatedFunctions(count));
}

function hex(n: number, w: number): string {
  return n.toString(16).padStart(w, '0');
}
