import { busKey, canonicalBdf, parseBdf, sortBdfs } from '../pci/bdf.js';
import type { FunctionRecord } from '../scan/read-function.js';
import { PCI_EXT_CAP_ID_SRIOV } from '../config/registers.js';

/**
 * Where each function sits: its upstream bridge, the functions on its bus, and for bridges every
 * function below them (what a secondary bus reset of that bridge clears).
 */
export interface Topology {
  /** Functions in lspci order. */
  order: string[];
  byBdf: Map<string, FunctionRecord>;
  parent: Map<string, string | null>;
  children: Map<string, string[]>;
  /** Other functions on the same bus (the kernel refuses a bus reset through a function that has any). */
  sameBus: Map<string, string[]>;
  /** Problems found while relating functions, per function. */
  problems: Map<string, string[]>;
  /** Every function below a bridge, depth first in lspci order. */
  below(bridge: string): string[];
}

export function buildTopology(records: FunctionRecord[]): Topology {
  const byBdf = new Map(records.map((r) => [r.bdf, r]));
  const order = sortBdfs(records.map((r) => r.bdf));
  const problems = new Map<string, string[]>();
  const note = (bdf: string, p: string): void => {
    let list = problems.get(bdf);
    if (!list) problems.set(bdf, (list = []));
    list.push(p);
  };

  linkVfsToPfs(records, byBdf, note);

  const byBus = new Map<string, string[]>();
  for (const bdf of order) {
    const key = busKey(bdf);
    let list = byBus.get(key);
    if (!list) byBus.set(key, (list = []));
    list.push(bdf);
  }

  // Which bridge claims each bus as its secondary, for functions the directory layout leaves on a root bus.
  const bridgeOfBus = new Map<string, string>();
  for (const bdf of order) {
    const br = byBdf.get(bdf)!.config.bridge;
    if (br && br.secondaryBus !== 0) bridgeOfBus.set(`${bdf.slice(0, bdf.indexOf(':'))}:${hex2(br.secondaryBus)}`, bdf);
  }

  const parent = new Map<string, string | null>();
  for (const bdf of order) parent.set(bdf, findParent(byBdf.get(bdf)!, byBdf, bridgeOfBus, (p) => note(bdf, p)));

  const children = new Map<string, string[]>();
  for (const bdf of order) {
    const p = parent.get(bdf);
    if (!p) continue;
    let list = children.get(p);
    if (!list) children.set(p, (list = []));
    list.push(bdf);
  }

  const sameBus = new Map<string, string[]>();
  for (const bdf of order) sameBus.set(bdf, byBus.get(busKey(bdf))!.filter((b) => b !== bdf));

  const belowCache = new Map<string, string[]>();
  const below = (bridge: string): string[] => {
    const cached = belowCache.get(bridge);
    if (cached) return cached;
    const out: string[] = [];
    const visit = (b: string, depth: number): void => {
      // Depth is bounded by the 256 bus numbers; the guard protects against a parent cycle in a broken tree.
      if (depth > 256) return;
      for (const c of children.get(b) ?? []) {
        out.push(c);
        visit(c, depth + 1);
      }
    };
    visit(bridge, 0);
    belowCache.set(bridge, out);
    return out;
  };

  return { order, byBdf, parent, children, sameBus, problems, below };
}

/**
 * Every VF names its PF (`physfn`), and the scan reads that link for every function; a PF's `virtfnN`
 * links are read only when its config shows SR-IOV. A PF whose config reads differently now than at
 * enumeration (half reset, extended space reading zero) would lose its VFs, and the planner's VF guards
 * with them, so the PF's list is completed from its VFs' links and the mismatch reported.
 */
function linkVfsToPfs(records: FunctionRecord[], byBdf: Map<string, FunctionRecord>, note: (bdf: string, p: string) => void): void {
  for (const vf of records) {
    if (vf.physfn === null) continue;
    const pf = byBdf.get(vf.physfn);
    if (!pf || pf.virtfns.includes(vf.bdf)) continue;
    pf.virtfns = [...pf.virtfns, vf.bdf];
    note(pf.bdf, `VF ${vf.bdf} names this function as its PF, but it has no virtfn link to it (config shows ${pf.config.extendedCapabilities.some((c) => c.id === PCI_EXT_CAP_ID_SRIOV) ? 'SR-IOV' : 'no SR-IOV capability'})`);
  }
}

/**
 * The upstream bridge: the function whose directory holds this one's (the kernel nests a function under
 * the bridge whose secondary bus it sits on). Cross-checked with the bridge's bus numbers; when the
 * directory says nothing (a flat hand-made tree) the bus numbers alone decide, and that is reported.
 */
function findParent(
  rec: FunctionRecord,
  byBdf: Map<string, FunctionRecord>,
  bridgeOfBus: Map<string, string>,
  note: (p: string) => void,
): string | null {
  const me = parseBdf(rec.bdf)!;
  const end = rec.path.lastIndexOf('/');
  const parentName = end < 0 ? '' : rec.path.slice(rec.path.lastIndexOf('/', end - 1) + 1, end);
  const nested = canonicalBdf(parentName);
  if (nested) {
    const pr = byBdf.get(nested);
    if (!pr) {
      note(`parent directory ${parentName} is not listed in sys/bus/pci/devices`);
      return null;
    }
    const br = pr.config.bridge;
    if (!br) {
      if (rec.physfn === null) note(`parent ${pr.bdf} is not a bridge (header type ${pr.config.header?.headerType ?? 'unreadable'})`);
    } else if (me.bus < br.secondaryBus || me.bus > br.subordinateBus) {
      note(
        `bus ${hex2(me.bus)} is outside parent ${pr.bdf}'s bus range ${hex2(br.secondaryBus)}-${hex2(br.subordinateBus)}`,
      );
    } else if (me.bus !== br.secondaryBus && rec.physfn === null) {
      note(`parent ${pr.bdf}'s secondary bus is ${hex2(br.secondaryBus)}, not ${hex2(me.bus)}`);
    }
    return pr.bdf;
  }
  // On a root bus by the directory layout: check that no bridge claims this bus as its secondary.
  const claimant = bridgeOfBus.get(busKey(rec.bdf));
  if (claimant && claimant !== rec.bdf) {
    note(`directory places it on a root bus, but bridge ${claimant} has secondary bus ${hex2(me.bus)}: taken as its parent`);
    return claimant;
  }
  return null;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
