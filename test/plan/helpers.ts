import { emptyIommuReport } from '../../src/iommu/assess.js';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { vi } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import type { IommuCase, IommuReport } from '../../src/iommu/iommu-report.js';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { buildPlan, type Policy } from '../../src/plan/build-plan.js';
import type { Plan } from '../../src/plan/plan.js';
import { kernelFlagsFor } from '../../src/quirks/kernel-flags.js';
import { defaultTable } from '../../src/quirks/load.js';
import { parseQuirks } from '../../src/quirks/parse.js';
import type { QuirkTable } from '../../src/quirks/quirk-types.js';
import { scan } from '../../src/scan/scan.js';
import type { ScanResult } from '../../src/scan/scan-result.js';

const dirs: string[] = [];

export function tempDir(prefix = 'pra-plan-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Write a mock tree and scan it the way the `plan` command does (kernel flags from the table). */
export function scanTree(tree: MockTree, table: QuirkTable = defaultTable()): ScanResult {
  const dir = tempDir();
  tree.write(dir);
  const root = new Root(dir);
  return scan(new SysfsAccess(root), dir, { flagsFor: kernelFlagsFor(table) });
}

/** The default table plus extra entries given as table text (a test's admin table). */
export function tableWith(text: string): QuirkTable {
  const base = defaultTable();
  const { entries } = parseQuirks(text, 'test.quirks', 1);
  return { entries: [...base.entries, ...entries], sources: [...base.sources, { label: 'test.quirks', entries: entries.length }] };
}

/**
 * An IOMMU report with the given case; `faults` per BDF; `cases` overrides the case of single devices.
 * Only the fields the planner reads are filled with care (the report grows fields the planner ignores).
 */
export function iommu(kase: IommuCase, faults: Record<string, number> = {}, cases: Record<string, IommuCase> = {}): IommuReport {
  const bdfs = new Set([...Object.keys(faults), ...Object.keys(cases)]);
  return {
    ...emptyIommuReport(),
    captureKernel: true,
    case: kase,
    missing: kase === 'unknown' ? ['no DMAR table'] : [],
    devices: [...bdfs].map((bdf) => ({
      bdf,
      unit: 'dmar0',
      faults: faults[bdf] ?? 0,
      tablesCopied: null,
      faultsNow: faults[bdf] ?? 0,
      faultsBefore: 0,
      irqFaults: 0,
      case: cases[bdf] ?? kase,
      iommuGroup: null,
    })),
  } as IommuReport;
}

/** A plan in a few strings: `method@target[functions]`, for table-driven expectations. */
export function brief(plan: Plan): { steps: string[]; unresettable: string[]; excluded: string[] } {
  const short = (b: string): string => b.replace(/^0000:/, '');
  return {
    steps: plan.steps.map((s) => `${s.method}@${short(s.target)}[${s.functions.map(short).join(' ')}]`),
    unresettable: plan.unresettable.map((e) => short(e.bdf)),
    excluded: plan.excluded.map((e) => short(e.bdf)),
  };
}

export interface PlanCase {
  fns: MockFunction[];
  table?: string;
  iommu?: IommuReport;
  policy?: Policy;
}

/** Scan a mock tree and plan it; the table text (if any) is an admin table on top of the default one. */
export function planFor(c: PlanCase): { plan: Plan; scan: ScanResult; table: QuirkTable } {
  const table = c.table ? tableWith(c.table) : defaultTable();
  const s = scanTree(new MockTree().addAll(c.fns), table);
  const plan = buildPlan({ scan: s, iommu: c.iommu ?? iommu('4'), quirks: table, policy: c.policy ?? {} });
  return { plan, scan: s, table };
}

/** A root port at 00:DD.0 owning bus `bus` (and up to `sub`). */
export function rootPort(dev: number, bus: number, extra: Partial<MockFunction> = {}): MockFunction {
  return {
    bdf: `0000:00:${hex(dev, 2)}.0`,
    vendor: 0x8086,
    device: 0x2030,
    classCode: 0x060400,
    bridge: { secondaryBus: bus, subordinateBus: bus },
    pcie: { type: 'root_port', linkSpeed: 3, dllla: true, crsVisibility: true },
    pm: {},
    driver: 'pcieport',
    ...extra,
  };
}

/**
 * A PCIe endpoint; by default FLR-capable, PM without soft reset, no driver bound (the kdump initramfs
 * runs before udev binds drivers; rows about built-in drivers bind one).
 */
export function endpoint(bdf: string, parent: string | undefined, extra: Partial<MockFunction> = {}): MockFunction {
  return {
    bdf,
    ...(parent ? { parent } : {}),
    vendor: 0x1234,
    device: 0x0001,
    classCode: 0x020000,
    pcie: { type: 'endpoint', flr: true },
    pm: { noSoftReset: true },
    msix: true,
    ...extra,
  };
}

function hex(n: number, w: number): string {
  return n.toString(16).padStart(w, '0');
}

/** Run the CLI in-process (shared with the other CLI tests). */
export { runCli } from '../helpers/run-cli.js';

/** Every file under a directory with its size, mode and content hash: proof that nothing was written. */
export function fingerprint(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) out.push(`${p} -> ${fs.readlinkSync(p)}`);
      else out.push(`${p} ${st.size} ${st.mode.toString(8)} ${st.mtimeMs} ${createHash('sha1').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}
