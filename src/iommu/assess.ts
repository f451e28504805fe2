import { PROC_FILE } from '../access/bounded-read.js';
import type { Root } from '../access/root.js';
import type { ScanResult } from '../scan/scan-result.js';
import type { Evidence, IommuCase, IommuDevice, IommuReport } from './iommu-report.js';
import { detectCaptureKernel } from './capture-kernel.js';
import { parseIommuOptions, type IommuOptions } from './cmdline.js';
import { parseDmar } from './acpi/dmar.js';
import { parseIvrs } from './acpi/ivrs.js';
import { parseIort, type IortTable } from './acpi/iort.js';
import { readSysfsUnits } from './sysfs-units.js';
import { readKmsg } from './kmsg/read-kmsg.js';
import { toLogLines } from './kmsg/log-lines.js';
import { parseLog, type LogFacts } from './kmsg/parse-log.js';
import { readOldLog } from './old-log.js';
import { readRegisters, type RegisterValues } from './registers.js';
import { buildUnits, type UnitRecord } from './units.js';
import { amdCoverage, armCoverage, intelCoverage } from './coverage.js';
import { readDeviceTreeIommu, type DeviceTreeIommu } from './arm/devicetree.js';
import { parseIomemRam, parseUsableMemory, smmuOutcome, type SmmuFacts } from './arm/smmu-claims.js';
import { gatherClaims } from './claims.js';
import { decide, NOT_CAPTURE, notCaptureLine, predict } from './verdict.js';
import { describeError } from './describe-error.js';
import { describeDmar, describeIvrs, summariseDmar, summariseIvrs } from './acpi/summary.js';
import { countFaults } from './faults.js';
import { toReportUnit } from './report-unit.js';
import { passthroughFinding, type PassthroughFinding } from './passthrough.js';
import type { IommuUnit } from './iommu-report.js';

export interface AssessOptions {
  /** Read this file as the running kernel's log instead of ROOT/dev/kmsg. */
  kmsgFile?: string;
  /** The device numbers ROOT/dev/kmsg must have (1:11); tests stand in a harmless device. */
  kmsgDevice?: { major: number; minor: number };
  /** Read this file as the crashed kernel's log instead of running vmcore-dmesg. */
  oldLogFile?: string;
  /** Read GSTS/RTADDR/AMD control through dev/mem (default true). */
  readRegisters?: boolean;
}

const TABLES = 'sys/firmware/acpi/tables';

/**
 * Which of the five DMA cases holds, with every piece of evidence and its source. Never throws: a
 * failure of any step is a problem in the report, and the case degrades to `unknown`.
 */
export async function assessIommu(root: Root, scan: ScanResult, options: AssessOptions = {}): Promise<IommuReport> {
  try {
    return await assess(root, scan, options);
  } catch (err) {
    return {
      ...emptyIommuReport(),
      missing: ['the assessment stopped on an internal error (see problems)'],
      problems: [`internal error: ${describeError(err)}`],
    };
  }
}

/** A report that knows nothing: case `unknown`, no units, no evidence. Callers fill in what they know. */
export function emptyIommuReport(): IommuReport {
  return {
    captureKernel: false,
    case: 'unknown',
    passthrough: { now: null, before: null, basis: [] },
    evidence: [],
    units: [],
    missing: [],
    devices: [],
    problems: [],
    conflicts: [],
    prediction: null,
    kernelRelease: null,
    sources: { kmsg: null, oldLog: null, registers: null },
    options: { now: [], before: null },
    acpi: { dmar: null, ivrs: null },
    timingsMs: {},
  };
}

async function assess(root: Root, scan: ScanResult, options: AssessOptions): Promise<IommuReport> {
  const evidence: Evidence[] = [];
  const problems: string[] = [];
  const blockers: string[] = [];
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  let tStep = t0;
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = Math.round((now - tStep) * 10) / 10;
    tStep = now;
  };

  const capture = detectCaptureKernel(root);
  evidence.push(...capture.evidence);
  problems.push(...capture.problems);
  const optionsNow = parseIommuOptions(capture.cmdline ?? '');
  if (optionsNow.words.length) evidence.push({ source: 'proc/cmdline', fact: `IOMMU options: ${optionsNow.words.join(' ')}` });
  else if (capture.cmdline !== null) evidence.push({ source: 'proc/cmdline', fact: 'no IOMMU options (the kernel\'s built-in defaults apply)' });

  // ACPI tables: which units exist. Unreadable tables (mode 0400) forbid a verdict: units could be missed.
  const tablesPresent = safeExists(root, TABLES, problems);
  const dmar = readTable(root, 'DMAR', problems, blockers, parseDmar);
  const ivrs = readTable(root, 'IVRS', problems, blockers, parseIvrs);
  const iort = readTable(root, 'IORT', problems, blockers, parseIort);
  const otherTables = ['VIOT'].filter((t) => safeExists(root, `${TABLES}/${t}`, problems));
  if (dmar) describeDmar(dmar, evidence);
  if (ivrs) describeIvrs(ivrs, evidence);
  if (iort) {
    evidence.push({ source: 'acpi:IORT', fact: `${iort.smmus.length} SMMU node(s)${iort.smmus.length ? ` (${iort.smmus.map((m) => `SMMUv${m.version} at ${m.base}`).join(', ')})` : ''}, ${iort.rootComplexes.length} root complex(es), ${iort.itsGroups} ITS group(s), ${iort.rmrs.length} RMR node(s)` });
    if (iort.smmus.length === 0) evidence.push({ source: 'acpi:IORT', fact: 'no SMMU node: the root complexes\' requester IDs go to the ITS only (MSIs), DMA is not translated' });
    if (iort.damaged) blockers.push('acpi:IORT is damaged (see problems): the SMMU list may be incomplete');
    for (const r of iort.rmrs) {
      evidence.push({ source: 'acpi:IORT', fact: `RMR node at 0x${r.offset.toString(16)}: ${r.ranges.map((x) => `${x.base}+${x.length}`).join(', ') || 'no range'}; stream IDs left in bypass: ${r.streams.map((x) => `${x.first}+${x.count}`).join(', ')}` });
    }
  }
  const dt = readDeviceTreeIommu(root);
  problems.push(...dt.problems);
  for (const m of dt.smmus) evidence.push({ source: 'devicetree', fact: `SMMUv${m.version} node ${m.path}${m.base !== null ? ` at 0x${m.base.toString(16)}` : ''}${m.coherent ? ' (dma-coherent)' : ''}` });
  for (const m of dt.maps) evidence.push({ source: 'devicetree', fact: `${m.host} iommu-map: ${m.entries.map((e) => `RID 0x${e.ridBase.toString(16)}+${e.length} → phandle ${e.phandle} SID 0x${e.sidBase.toString(16)}`).join(', ')}` });
  for (const t of otherTables) {
    evidence.push({ source: `acpi:${t}`, fact: 'present: an IOMMU this agent does not judge (virtio-iommu)' });
    blockers.push(`acpi:${t}: an IOMMU described by ${t} is not judged by this agent`);
  }

  const sysfs = readSysfsUnits(root);
  problems.push(...sysfs.problems);
  for (const u of sysfs.units) {
    evidence.push({ source: `sysfs:${u.name}`, fact: `${u.vendor === 'other' ? 'unknown IOMMU class' : `${u.vendor} unit`}${u.address ? ` at ${u.address}` : ''}${u.version ? ` version ${u.version}` : ''}${u.devices.length ? `, ${u.devices.length} device(s)` : ''}` });
  }
  if (sysfs.groups !== null) evidence.push({ source: 'sysfs:iommu_groups', fact: `${sysfs.groups} IOMMU group(s)${sysfs.groups === 0 ? ': no IOMMU driver manages devices' : ''}` });
  lap('tablesAndSysfs');

  // This kernel's log.
  let kmsg: LogFacts | null = null;
  const kmsgText = readKmsg(root, options.kmsgFile, options.kmsgDevice);
  if (kmsgText) {
    problems.push(...kmsgText.problems);
    if (kmsgText.text !== '') {
      kmsg = parseLog(toLogLines(kmsgText.text), options.kmsgFile !== undefined ? `kmsg:${kmsgText.source}` : 'kmsg', kmsgText.firstSeq);
      if (kmsgText.gaps) kmsg.complete = false;
      evidence.push({ source: kmsg.source, fact: `${kmsg.lines} line(s)${kmsg.complete ? ', complete from boot' : ', does not reach back to boot (older messages gone)'}` });
    }
  } else {
    evidence.push({ source: 'kmsg', fact: 'dev/kmsg absent: this kernel\'s log not read' });
  }

  lap('kmsg');

  const kernelRelease = readRelease(root, problems) ?? kmsg?.kernelRelease ?? null;

  const { units, notes } = buildUnits(dmar, ivrs, sysfs.units, kmsg ? [kmsg] : [], { iort, dt });
  problems.push(...notes);

  // Registers.
  let registers: RegisterValues[] = [];
  let registerSource: string | null = null;
  if (options.readRegisters !== false) {
    const toRead = units.filter((u) => u.vendor !== 'other' && u.base !== null).map((u) => ({ name: u.name, vendor: u.vendor as 'intel' | 'amd' | 'arm', base: u.base! }));
    const r = await readRegisters(root, toRead);
    registers = r.values;
    problems.push(...r.problems);
    for (const n of r.notes) evidence.push({ source: 'registers', fact: n });
    registerSource = registers.length ? [...new Set(registers.map((v) => v.source))].join(', ') : null;
  }
  lap('registers');

  // Devices: which unit covers each, and the faults logged against each.
  const { unitOf, streamOf } = coverDevices(units, scan, evidence, problems, iort, dt);
  const ownMemory = readOwnMemory(root);
  const graphicsOnly = new Set<string>();
  for (const u of units) {
    if (!u.drhd || u.drhd.includePciAll) continue;
    const members = scan.devices.filter((d) => unitOf.get(d.bdf) === u.name);
    if (members.length > 0 && members.every((d) => d.class?.startsWith('03'))) graphicsOnly.add(u.name);
  }

  const claimsFrom = (oldLog: LogFacts | null, optionsBefore: IommuOptions | null) => {
    const faults = countFaults(scan, unitOf, kmsg, oldLog);
    const gathered = gatherClaims({
      captureKernel: capture.captureKernel,
      units,
      sysfs,
      kmsg,
      oldLog,
      optionsNow,
      optionsBefore,
      registers,
      kernelRelease,
      faultsNow: faults.perUnitNow,
      faultsBefore: faults.perUnitBefore,
      graphicsOnly,
      cmdlineNow: capture.cmdline,
      ownMemory,
    });
    return { faults, gathered };
  };

  // The crashed kernel's log, read only when it can change the answer: vmcore-dmesg walks the old
  // printk ring inside /proc/vmcore, which costs seconds under emulation. A file given is always read.
  let oldLog: LogFacts | null = null;
  let pass = claimsFrom(null, null);
  const beforeOpen = (): string[] => {
    const v = decide({ captureKernel: true, units: units.map((u) => ({ name: u.name, vendor: u.vendor })), claims: pass.gathered.claims, untouched: pass.gathered.untouched, noIommu: false, blockers: [] });
    return v.units.filter((u, i) => units[i]!.vendor !== 'other' && (u.before.value === null || u.before.basis?.startsWith('inferred'))).map((u) => u.name);
  };
  const open = capture.captureKernel ? beforeOpen() : [];
  if (options.oldLogFile !== undefined || open.length > 0) {
    const old = await readOldLog(root, { file: options.oldLogFile });
    if (old) {
      problems.push(...old.problems);
      for (const n of old.notes) evidence.push({ source: 'old-log', fact: n });
      if (old.text !== '') {
        oldLog = parseLog(toLogLines(old.text), 'old-log');
        evidence.push({ source: 'old-log', fact: `${old.source}: ${oldLog.lines} line(s)${oldLog.complete ? ', complete from boot' : ', does not reach back to boot'}` });
      }
    } else if (capture.captureKernel) {
      evidence.push({ source: 'old-log', fact: root.isHostRoot ? 'not read (no /proc/vmcore)' : 'not read: vmcore-dmesg runs only with --root / (use --old-log FILE)' });
    }
  } else if (capture.captureKernel && units.length > 0) {
    evidence.push({ source: 'old-log', fact: 'not read: this kernel\'s own evidence already tells what the crashed kernel did (pass --old-log FILE to read it anyway)' });
  }
  const optionsBefore: IommuOptions | null = oldLog?.cmdline ? parseIommuOptions(oldLog.cmdline) : null;
  if (optionsBefore) evidence.push({ source: 'old-log', fact: `crashed kernel's IOMMU options: ${optionsBefore.words.join(' ') || 'none'}` });
  if (oldLog) pass = claimsFrom(oldLog, optionsBefore);
  const { faults, gathered } = pass;
  for (const p of faults.problems) problems.push(p);
  evidence.push(...faults.notes);
  lap('oldLog');

  for (const log of [kmsg, oldLog]) {
    if (!log) continue;
    for (const c of log.cut) {
      const p = `${log.source} line ${c.n} cut part-way through "${c.message}": ${c.text.slice(0, 120)}`;
      problems.push(p);
      if (c.decisive) blockers.push(`${p} (a message the verdict depends on)`);
    }
    for (const h of log.hits) if (isNotable(h.event.kind)) evidence.push({ source: log.source, fact: h.text.trim().slice(0, 200) });
    if (log === kmsg && log.intel.copyAttempts > log.intel.copied.size + log.intel.copyFailed.size) {
      blockers.push(`${log.source}: ${log.intel.copyAttempts} "Translation already enabled" line(s) but only ${log.intel.copied.size + log.intel.copyFailed.size} copy result(s); a unit's outcome is missing`);
    }
  }

  evidence.push(...gathered.evidence);
  blockers.push(...gathered.blockers);

  if (dmar?.damaged) blockers.push('acpi:DMAR is damaged (see problems): the unit list may be incomplete');
  if (ivrs?.damaged) blockers.push('acpi:IVRS is damaged (see problems): the unit list may be incomplete');
  // No IOMMU needs positive evidence of absence: an ACPI tables directory without DMAR/IVRS/VIOT and
  // without an SMMU in IORT, or a device tree without an SMMU node; and no unit registered in sysfs.
  const noIommu = (tablesPresent || dt.source !== null) && !dmar && !ivrs && (!iort || iort.smmus.length === 0) && dt.smmus.length === 0 && otherTables.length === 0 && sysfs.units.length === 0 && !blockers.some((b) => b.includes('unreadable'));
  if (noIommu) evidence.push({ source: tablesPresent ? 'acpi' : 'devicetree', fact: tablesPresent ? `no DMAR, IVRS or VIOT table${iort ? ', an IORT without SMMU nodes' : ' or IORT'}${dt.source ? ', no SMMU node in the device tree' : ''}, and no unit in /sys/class/iommu: this machine has no IOMMU` : 'no ACPI tables, no SMMU node in the device tree and no unit in /sys/class/iommu: this machine has no IOMMU' });
  else if (!tablesPresent && !dt.source && units.length === 0) problems.push(`${TABLES}: absent; whether the machine has an IOMMU is not established`);

  const verdict = decide({
    captureKernel: capture.captureKernel,
    units: units.map((u) => ({ name: u.name, vendor: u.vendor })),
    claims: gathered.claims,
    untouched: gathered.untouched,
    noIommu,
    blockers,
  });
  for (const c of gathered.claims) evidence.push({ source: c.source, fact: `${c.unit} ${c.field}=${c.value} (${c.strength}): ${c.fact}` });
  lap('verdict');

  const passthrough = passthroughFinding({ optionsNow, optionsBefore, kmsg, oldLog, groupTypes: sysfs.groupTypes });
  for (const b of passthrough.basis) evidence.push({ source: 'passthrough', fact: b });
  // ARM: what became of stale DMA behind each SMMU, and the streams firmware keeps in bypass (RMR).
  const smmuFacts = new Map<string, SmmuFacts>();
  const armUnits = units.filter((u) => u.vendor === 'arm').length;
  for (const u of units) {
    if (u.vendor !== 'arm') continue;
    const v = verdict.units.find((x) => x.name === u.name)!;
    const rmr = (iort?.rmrs ?? []).flatMap((r) => r.streams.filter((st) => u.iortSmmu && st.smmu === u.iortSmmu.offset).map((st) => ({ first: st.first, count: st.count })));
    const f = smmuOutcome(u, { before: v.before.value, now: v.now.value, managed: v.managed.value }, { captureKernel: capture.captureKernel, classPresent: sysfs.classPresent, kmsg, oldLog, registers, ownMemory, armUnits }, rmr, passthrough.now);
    smmuFacts.set(u.name, f);
    if (f.outcome === 'adopted') gathered.oldTables.set(u.name, 'reused');
    else if (f.outcome === 'aborted') gathered.oldTables.set(u.name, 'not-copied');
    if (f.basis) evidence.push({ source: `smmu:${u.name}`, fact: `outcome ${f.outcome ?? 'none'}: ${f.basis}` });
  }
  const reportUnits = units.map((u) =>
    toReportUnit(u, verdict.units.find((v) => v.name === u.name)!, registers.find((r) => r.unit === u.name), {
      notes: gathered.notes.get(u.name) ?? [],
      oldTables: gathered.oldTables.get(u.name) ?? null,
      snp: gathered.snp.get(u.name) ?? null,
      smmu: smmuFacts.get(u.name) ?? null,
    }),
  );
  const devices: IommuDevice[] = scan.devices.map((d) => {
    const unit = unitOf.get(d.bdf) ?? null;
    const v = unit ? verdict.units.find((x) => x.name === unit) : undefined;
    const ru = unit ? reportUnits.find((x) => x.name === unit) : undefined;
    // "Failed to copy context table for bus N": this function's context entry was not copied.
    const bus = parseInt(d.bdf.slice(5, 7), 16);
    const ctxLost = unit !== null && (kmsg?.intel.contextCopyFailed.get(unit) ?? []).includes(bus);
    const sid = streamOf.get(d.bdf);
    const rmrBypass = sid !== undefined && (smmuFacts.get(sid.unit)?.rmrStreams ?? []).some((r) => sid.sid >= r.first && sid.sid < r.first + r.count);
    const devicePt = rmrBypass ? true : devicePassthrough(d.iommuGroup, sysfs.groupTypes, passthrough, ru);
    if (rmrBypass) evidence.push({ source: 'acpi:IORT', fact: `${d.bdf}: stream ID ${sid!.sid} of ${sid!.unit} is in an RMR: left in bypass, its DMA reaches memory untranslated` });
    const fNow = faults.perDevice.get(d.bdf)?.now ?? 0;
    const fBefore = faults.perDevice.get(d.bdf)?.before ?? 0;
    let deviceCase: IommuCase = v ? v.case : 'unknown';
    // A function no unit translates sees raw physical addresses in both kernels.
    if (!unit && capture.captureKernel && verdict.case !== 'unknown') deviceCase = '1';
    if (!unit && noIommu && capture.captureKernel) deviceCase = '1';
    return {
      bdf: d.bdf,
      unit,
      faults: fNow + fBefore,
      tablesCopied: ctxLost ? false : v ? v.copied.value : null,
      faultsNow: fNow,
      faultsBefore: fBefore,
      irqFaults: faults.perDevice.get(d.bdf)?.irq ?? 0,
      case: deviceCase,
      iommuGroup: d.iommuGroup,
      passthrough: devicePt,
    };
  });

  const prediction = capture.captureKernel ? null : noIommu ? { case: '1' as const, basis: 'no IOMMU on this machine: DMA is never translated' } : predict(verdict.units);
  const missing = verdict.missing.map((m) => (m === NOT_CAPTURE ? notCaptureLine(prediction !== null, verdict.units.length) : m));
  return {
    captureKernel: capture.captureKernel,
    case: verdict.case,
    passthrough,
    evidence,
    units: reportUnits,
    missing,
    devices,
    problems,
    conflicts: verdict.conflicts,
    prediction,
    kernelRelease,
    sources: { kmsg: kmsg?.source ?? null, oldLog: oldLog ? (options.oldLogFile ?? 'vmcore-dmesg /proc/vmcore') : null, registers: registerSource },
    options: { now: optionsNow.words, before: optionsBefore ? optionsBefore.words : null },
    acpi: { dmar: dmar ? summariseDmar(dmar) : null, ivrs: ivrs ? summariseIvrs(ivrs) : null },
    timingsMs: { ...timings, total: Math.round((performance.now() - t0) * 10) / 10 },
  };
}

/**
 * Whether this function's DMA reaches memory untranslated through an identity mapping: its group's
 * domain is identity now, or this kernel defaults to passthrough and runs its unit, or the crashed kernel
 * ran passthrough and its tables are still in use (copied, reused, or a unit this kernel ignores).
 */
function devicePassthrough(group: number | null, groupTypes: Map<number, string>, pt: PassthroughFinding, unit: IommuUnit | undefined): boolean | null {
  if (group !== null && groupTypes.has(group)) {
    if (groupTypes.get(group) === 'identity') return true;
  } else if (pt.now === true && unit?.managedNow === true) return true;
  if (pt.before === true && unit && unit.translationEnabledBefore === true && (unit.case === '3a' || unit.oldTables === 'copied' || unit.oldTables === 'reused')) return true;
  if (group !== null && groupTypes.has(group)) return pt.before === true && unit?.translationEnabledBefore !== false ? null : false;
  if (pt.now === false && (pt.before === false || unit?.translationEnabledBefore === false)) return false;
  return unit ? null : false;
}

function readTable<T extends { problems: string[] }>(
  root: Root,
  sig: string,
  problems: string[],
  blockers: string[],
  parse: (b: Uint8Array, label: string) => T,
): T | null {
  const rel = `${TABLES}/${sig}`;
  let bytes: Buffer;
  try {
    if (!root.exists(rel)) return null;
    bytes = root.readAcpiTable(rel);
  } catch (err) {
    const p = `${rel}: ${describeError(err)}`;
    problems.push(p);
    blockers.push(`${rel} unreadable (${describeError(err)}; the tables are mode 0400, run as root)`);
    return null;
  }
  const t = parse(bytes, `acpi:${sig}`);
  problems.push(...t.problems);
  return t;
}

function coverDevices(units: UnitRecord[], scan: ScanResult, evidence: Evidence[], problems: string[], iort: IortTable | null, dt: DeviceTreeIommu): { unitOf: Map<string, string>; streamOf: Map<string, { unit: string; sid: number }> } {
  const unitOf = new Map<string, string>();
  const intel = intelCoverage(units.filter((u) => u.drhd).map((u) => ({ name: u.name, drhd: u.drhd! })), scan);
  const amd = amdCoverage(units.filter((u) => u.ivhd).map((u) => ({ name: u.name, ivhd: u.ivhd! })), scan);
  const arm = armCoverage(
    units.filter((u) => u.vendor === 'arm').map((u) => ({ name: u.name, iortOffset: u.iortSmmu?.offset ?? null, dtPhandle: u.dtSmmu?.phandle ?? null })),
    iort,
    dt,
    scan,
  );
  problems.push(...intel.problems, ...amd.problems, ...arm.problems);
  for (const r of intel.resolved) evidence.push({ source: 'acpi:DMAR', fact: `${r.unit} scope ${r.scope} → ${r.bdf}` });
  for (const [bdf, u] of [...intel.unitOf, ...amd.unitOf, ...arm.unitOf]) unitOf.set(bdf, u);
  // The kernel's own assignment wins where it exists.
  for (const u of units) for (const bdf of u.sysfs?.devices ?? []) unitOf.set(bdf, u.name);
  return { unitOf, streamOf: arm.streamOf };
}

/**
 * This kernel's own memory, to tell a stream table it allocated from one the crashed kernel left: an
 * arm64 capture kernel is given `linux,usable-memory-range` in /chosen; otherwise proc/iomem's System RAM.
 */
function readOwnMemory(root: Root): { start: bigint; end: bigint }[] | null {
  for (const rel of ['proc/device-tree/chosen/linux,usable-memory-range', 'sys/firmware/devicetree/base/chosen/linux,usable-memory-range']) {
    try {
      if (root.exists(rel)) return parseUsableMemory(root.readFile(rel));
    } catch {
      // next
    }
  }
  try {
    const t = root.readText('proc/iomem');
    const r = t ? parseIomemRam(t) : [];
    // Unprivileged reads of proc/iomem show zeros: useless.
    return r.length && r.some((x) => x.end > 0n) ? r : null;
  } catch {
    return null;
  }
}

function readRelease(root: Root, problems: string[]): string | null {
  try {
    const r = root.readText('proc/sys/kernel/osrelease', PROC_FILE);
    if (r && r.trim()) return r.trim();
    const v = root.readText('proc/version', PROC_FILE);
    const m = v ? /Linux version (\S+)/.exec(v) : null;
    return m ? m[1]! : null;
  } catch (err) {
    problems.push(`proc/sys/kernel/osrelease: ${describeError(err)}`);
    return null;
  }
}

function safeExists(root: Root, rel: string, problems: string[]): boolean {
  try {
    return root.exists(rel);
  } catch (err) {
    problems.push(`${rel}: ${describeError(err)}`);
    return false;
  }
}

/** Log lines worth quoting as evidence (the kdump, init and option messages; faults are summarised per device). */
function isNotable(kind: string): boolean {
  return kind !== 'linux-version' && kind !== 'intel-drhd' && kind !== 'fault-status' && kind !== 'intel-unit' && kind !== 'cmdline';
}
