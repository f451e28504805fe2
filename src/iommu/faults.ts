import type { ScanResult } from '../scan/scan-result.js';
import { formatBdf, parseBdf } from '../pci/bdf.js';
import type { LogFacts } from './kmsg/parse-log.js';

export interface FaultCounts {
  perDevice: Map<string, { now: number; before: number; irq: number }>;
  perUnitNow: Map<string, number>;
  perUnitBefore: Map<string, number>;
  problems: string[];
}

/** VT-d fault records carry no segment: they go to the one function with that bus:dev.fn, or segment 0. */
export function countFaults(scan: ScanResult, unitOf: Map<string, string>, kmsg: LogFacts | null, oldLog: LogFacts | null): FaultCounts {
  const out: FaultCounts = { perDevice: new Map(), perUnitNow: new Map(), perUnitBefore: new Map(), problems: [] };
  const bySlot = new Map<string, string[]>();
  for (const d of scan.devices) {
    const b = parseBdf(d.bdf)!;
    const k = `${b.bus}:${b.dev}:${b.fn}`;
    bySlot.set(k, [...(bySlot.get(k) ?? []), d.bdf]);
  }
  const present = new Set(scan.devices.map((d) => d.bdf));
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
      const entry = out.perDevice.get(bdf) ?? { now: 0, before: 0, irq: 0 };
      if (f.type === 'irq') entry.irq++;
      else entry[when]++;
      out.perDevice.set(bdf, entry);
      if (!present.has(bdf)) unmatched.set(`${log.source} ${bdf}`, (unmatched.get(`${log.source} ${bdf}`) ?? 0) + 1);
      const unit = unitOf.get(bdf);
      if (unit && f.type === 'dma') {
        const m = when === 'now' ? out.perUnitNow : out.perUnitBefore;
        m.set(unit, (m.get(unit) ?? 0) + 1);
      }
    }
  }
  for (const [k, n] of unmatched) out.problems.push(`${k}: ${n} fault(s) from a function not present now (gone, or renumbered since)`);
  return out;
}
