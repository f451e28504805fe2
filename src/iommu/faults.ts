import type { ScanResult } from '../scan/scan-result.js';
import { formatBdf, parseBdf } from '../pci/bdf.js';
import type { LogFacts } from './kmsg/parse-log.js';

export interface FaultCounts {
  perDevice: Map<string, { now: number; before: number; irq: number }>;
  perUnitNow: Map<string, number>;
  perUnitBefore: Map<string, number>;
  problems: string[];
  /** Faults attributed through a DMA alias (a PCIe-to-PCI bridge's requester ID), said so. */
  notes: { source: string; fact: string }[];
}

/** VT-d fault records carry no segment: they go to the one function with that bus:dev.fn, or segment 0. */
export function countFaults(scan: ScanResult, unitOf: Map<string, string>, kmsg: LogFacts | null, oldLog: LogFacts | null): FaultCounts {
  const out: FaultCounts = { perDevice: new Map(), perUnitNow: new Map(), perUnitBefore: new Map(), problems: [], notes: [] };
  const bySlot = new Map<string, string[]>();
  for (const d of scan.devices) {
    const b = parseBdf(d.bdf)!;
    const k = `${b.bus}:${b.dev}:${b.fn}`;
    bySlot.set(k, [...(bySlot.get(k) ?? []), d.bdf]);
  }
  const present = new Set(scan.devices.map((d) => d.bdf));
  // A PCIe-to-PCI bridge takes ownership of its conventional devices' transactions, tagged with its secondary
  // bus and devfn 0 (pci_for_each_dma_alias(), drivers/pci/search.c:88): a fault from <secondary>:00.0 with no
  // such function is one of the functions below the bridge (seen on Debian 6.12 in VT-d scalable mode, where
  // the e1000 behind QEMU's pcie-pci-bridge faulted as 04:00.0 in the crashed kernel).
  const aliasOf = new Map<string, { bridge: string; below: string[] }>();
  for (const d of scan.devices) {
    if (d.pcieType !== 'pcie_to_pci_bridge' || d.secondaryBus === null || d.below.length === 0) continue;
    const b = parseBdf(d.bdf)!;
    aliasOf.set(formatBdf({ domain: b.domain, bus: d.secondaryBus, dev: 0, fn: 0 }), { bridge: d.bdf, below: d.below });
  }
  const aliased = new Map<string, number>();
  const unmatched = new Map<string, number>();
  for (const [log, when] of [[kmsg, 'now'], [oldLog, 'before']] as const) {
    if (!log) continue;
    for (const f of log.faults) {
      let bdf: string;
      if (f.segment !== null) bdf = formatBdf({ domain: f.segment, bus: f.bus, dev: f.dev, fn: f.fn });
      else {
        const cands = bySlot.get(`${f.bus}:${f.dev}:${f.fn}`) ?? [];
        bdf = cands.length === 1 ? cands[0]! : formatBdf({ domain: 0, bus: f.bus, dev: f.dev, fn: f.fn });
      }
      const alias = present.has(bdf) ? undefined : aliasOf.get(bdf);
      if (alias) aliased.set(`${log.source}\t${bdf}`, (aliased.get(`${log.source}\t${bdf}`) ?? 0) + 1);
      else if (!present.has(bdf)) unmatched.set(`${log.source} ${bdf}`, (unmatched.get(`${log.source} ${bdf}`) ?? 0) + 1);
      // Through an alias every function below the bridge may be the one: each is counted.
      for (const target of alias ? alias.below : [bdf]) {
        const entry = out.perDevice.get(target) ?? { now: 0, before: 0, irq: 0 };
        if (f.type === 'irq') entry.irq++;
        else entry[when]++;
        out.perDevice.set(target, entry);
      }
      const unit = unitOf.get(alias ? alias.below[0]! : bdf);
      if (unit && f.type === 'dma') {
        const m = when === 'now' ? out.perUnitNow : out.perUnitBefore;
        m.set(unit, (m.get(unit) ?? 0) + 1);
      }
    }
  }
  for (const [k, n] of aliased) {
    const [source, bdf] = k.split('\t') as [string, string];
    const a = aliasOf.get(bdf)!;
    out.notes.push({ source, fact: `${n} fault(s) from ${bdf}, the requester ID PCIe-to-PCI bridge ${a.bridge} uses for the functions behind it (pci_for_each_dma_alias()): counted against ${a.below.join(', ')}` });
  }
  for (const [k, n] of unmatched) out.problems.push(`${k}: ${n} fault(s) from a function not present now (gone, or renumbered since)`);
  return out;
}
