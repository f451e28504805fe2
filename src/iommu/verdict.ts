import type { IommuCase } from './iommu-report.js';

/**
 * From evidence to the case, with no I/O: every fact arrives as a claim about one unit's field, with
 * how strongly it is known. Per field the strongest claims win; claims of equal strength that disagree
 * leave the field unknown (never a guess). The unit's case follows from its fields, the machine's case
 * from its units'.
 *
 *   before  did the crashed kernel run the unit with DMA translation on
 *   now     is translation on now (GSTS.TES / AMD IommuEn)
 *   copied  did this kernel copy the old translation tables
 *   managed does this kernel's IOMMU driver run the unit (else it "ignores" it: case 3a when left on)
 */
export type Field = 'before' | 'now' | 'copied' | 'managed';

/** measured: read from the hardware now · logged: a kernel message says so · inferred: follows from kernel code paths. */
export type Strength = 'measured' | 'logged' | 'inferred';

export interface Claim {
  unit: string;
  field: Field;
  value: boolean;
  strength: Strength;
  source: string;
  fact: string;
  /**
   * The claim rests on a message NOT being in a log. Such a claim may say the crashed kernel had
   * translation on or off for cases 2 and 4, but never on its own make a unit case 1: a verdict that
   * makes the agent reset less needs positive evidence (a register read, a message the kernel prints).
   */
  absence?: boolean;
}

export interface VerdictInput {
  captureKernel: boolean;
  units: { name: string; vendor: 'intel' | 'amd' | 'arm' | 'other' }[];
  claims: Claim[];
  /** Units nobody in this kernel touched: translation now is whatever the crashed kernel left. */
  untouched: { unit: string; source: string; fact: string }[];
  /** Established that the machine has no IOMMU at all (no DMAR/IVRS/IORT/VIOT table, no unit in sysfs). */
  noIommu: boolean;
  /** Facts that forbid a verdict however the claims look (a damaged table, a decisive log line cut). */
  blockers: string[];
}

export interface FieldValue {
  value: boolean | null;
  /** The claim that decided it, `strength source: fact`; null when unknown. */
  basis: string | null;
  /** Every claim that decided it rests on a message's absence. */
  absence?: boolean;
}

export interface UnitVerdict {
  name: string;
  before: FieldValue;
  now: FieldValue;
  copied: FieldValue;
  managed: FieldValue;
  case: IommuCase;
  missing: string[];
}

export interface Verdict {
  case: IommuCase;
  units: UnitVerdict[];
  missing: string[];
  /** Claims that disagreed with the one kept, or with each other. */
  conflicts: string[];
}

const RANK: Record<Strength, number> = { measured: 3, logged: 2, inferred: 1 };

/** decide()'s line for a live system; notCaptureLine() completes it once the prediction is known. */
export const NOT_CAPTURE = 'not a capture kernel: the cases describe a crash-dump boot';

/** The live system's line, pointing at "prediction" only when there is one, else saying why there is none. */
export function notCaptureLine(hasPrediction: boolean, units: number): string {
  if (hasPrediction) return `${NOT_CAPTURE} (see "prediction" for what a capture kernel would find)`;
  const why = units === 0 ? 'no IOMMU unit found, and its absence could not be established' : 'not every IOMMU unit here could be judged on or off';
  return `${NOT_CAPTURE} (and no prediction for one either: ${why})`;
}

export function decide(input: VerdictInput): Verdict {
  const conflicts: string[] = [];
  const units = input.units.map((u) => decideUnit(u, input, conflicts));
  const missing: string[] = [];
  if (!input.captureKernel) {
    missing.push(NOT_CAPTURE);
    return { case: 'unknown', units, missing, conflicts };
  }
  if (input.blockers.length > 0) {
    missing.push(...input.blockers);
    return { case: 'unknown', units, missing, conflicts };
  }
  if (units.length === 0) {
    if (input.noIommu) return { case: '1', units, missing, conflicts };
    missing.push('no IOMMU unit found, and its absence could not be established (ACPI tables or /sys/class/iommu unreadable)');
    return { case: 'unknown', units, missing, conflicts };
  }
  const cases = new Set(units.map((u) => u.case));
  if (cases.size === 1 && !cases.has('unknown')) return { case: units[0]!.case, units, missing, conflicts };
  for (const u of units) if (u.case === 'unknown') missing.push(...u.missing.map((m) => `${u.name}: ${m}`));
  // Every unit judged, and they differ (dmar0 case 2, dmar1 case 4): the machine's case is `mixed` and
  // each device carries its own unit's case, which is what the planner reads.
  if (!cases.has('unknown')) return { case: 'mixed', units, missing, conflicts };
  const known = units.filter((u) => u.case !== 'unknown');
  if (new Set(known.map((u) => u.case)).size > 1) {
    missing.push(`units disagree (${known.map((u) => `${u.name} case ${u.case}`).join(', ')}): see each device's case`);
  }
  return { case: 'unknown', units, missing, conflicts };
}

function decideUnit(u: { name: string; vendor: string }, input: VerdictInput, conflicts: string[]): UnitVerdict {
  const mine = input.claims.filter((c) => c.unit === u.name);
  const pick = (field: Field): FieldValue => resolve(u.name, field, mine.filter((c) => c.field === field), conflicts);
  const before = pick('before');
  let now = pick('now');
  const copied = pick('copied');
  const managed = pick('managed');
  const untouched = input.untouched.find((t) => t.unit === u.name);
  if (now.value === null && untouched && before.value !== null) {
    now = { value: before.value, basis: `inferred ${untouched.source}: ${untouched.fact}; so as the crashed kernel left it (${before.basis})`, ...(before.absence ? { absence: true } : {}) };
  }
  const missing: string[] = [];
  let c: IommuCase = 'unknown';
  if (u.vendor === 'other') missing.push('IOMMU of a kind this agent does not judge');
  else if (!input.captureKernel) missing.push('not a capture kernel');
  else {
    if (before.value === null) missing.push('whether the crashed kernel had translation on (no old log, no copy/"already enabled" message, no register left untouched)');
    if (now.value === null) missing.push('whether translation is on now (registers not read, no driver state or log line)');
    if (before.value !== null && now.value !== null) {
      if (!before.value && !now.value && (before.absence || now.absence)) {
        // Case 1 excludes every device from the plan: not on the strength of a missing message.
        missing.push(`only the absence of a message says translation was off (${(before.absence ? before : now).basis}); absence lowers confidence, it never proves "off" (case 1 needs a register read or a message the kernel prints)`);
      } else if (!before.value) c = now.value ? '2' : '1';
      else if (!now.value) c = '3b';
      else if (managed.value === true) c = '4';
      else if (managed.value === false) c = '3a';
      else missing.push('whether this kernel\'s driver runs the unit (4) or ignores it (3a)');
    }
  }
  return { name: u.name, before, now, copied, managed, case: c, missing };
}

function resolve(unit: string, field: Field, claims: Claim[], conflicts: string[]): FieldValue {
  if (claims.length === 0) return { value: null, basis: null };
  // A claim resting on a message's absence ranks below every positive claim, whatever its strength.
  const rank = (c: Claim): number => (c.absence ? 0 : 10) + RANK[c.strength];
  const top = Math.max(...claims.map(rank));
  const best = claims.filter((c) => rank(c) === top);
  const values = new Set(best.map((c) => c.value));
  if (values.size > 1) {
    conflicts.push(`${unit} ${field}: ${best.map((c) => `${c.value} (${c.strength} ${c.source}: ${c.fact})`).join(' vs ')}; left unknown`);
    return { value: null, basis: null };
  }
  const chosen = best[0]!;
  for (const c of claims) {
    if (c.value !== chosen.value) conflicts.push(`${unit} ${field}: ${c.strength} ${c.source} says ${c.value} (${c.fact}), ${chosen.strength} ${chosen.source} says ${chosen.value}; kept the ${chosen.absence ? chosen.strength : c.absence ? 'positive' : chosen.strength} one`);
  }
  return { value: chosen.value, basis: `${chosen.strength} ${chosen.source}: ${chosen.fact}`, ...(chosen.absence ? { absence: true } : {}) };
}

/**
 * On a live machine there is no case yet; what a capture kernel booted with the same IOMMU setup would
 * find: translation on now ⇒ it is copied over (4); off ⇒ stays off (1). A kdump command line that adds
 * intel_iommu=off/amd_iommu=off changes this, which the agent cannot see from here.
 */
export function predict(units: UnitVerdict[]): { case: IommuCase; basis: string } | null {
  const judged = units.filter((u) => u.now.value !== null);
  if (judged.length === 0 || judged.length !== units.length) return null;
  const on = judged.filter((u) => u.now.value === true).map((u) => u.name);
  if (on.length === 0) {
    return { case: '1', basis: 'translation is off on every unit here; a capture kernel with the same options keeps it off' };
  }
  return {
    case: '4',
    basis: `translation is on here (${on.join(', ')}); a capture kernel that runs the IOMMU driver copies the tables and keeps it on (3b instead if the kdump command line adds intel_iommu=off)`,
  };
}
