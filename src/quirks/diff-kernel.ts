import type { KernelQuirk } from './kernel-source.js';
import { formatMatch } from './parse.js';
import { cite, type QuirkEntry, type QuirkTable } from './quirk-types.js';

/**
 * `quirks diff-kernel`: what a kernel's quirks.c says that the table lacks or says differently, and the
 * table's kernel-derived entries the file no longer carries. How maintainers keep the default table
 * current with each kernel release.
 */
export interface KernelDiffItem {
  kind: 'missing' | 'different' | 'removed' | 'moved';
  /** quirks.c line (missing, different, moved) or null (removed). */
  kernelLine: number | null;
  fn: string;
  /** The table entry concerned (different, removed, moved). */
  entry: string | null;
  message: string;
  /** For `missing`: an entry to start from (its reason still needs the kernel's words). */
  suggestion: string | null;
}

export interface KernelDiff {
  items: KernelDiffItem[];
  /** Kernel reset quirks the table matches exactly. */
  matched: number;
}

const hex4 = (n: number | null): string => (n === null ? '*' : n.toString(16).padStart(4, '0'));

function kernelMatchText(q: KernelQuirk): string {
  const dev = q.condition.deviceMask ? rangeOf(q.condition.deviceMask) : null;
  const parts = [`${hex4(q.vendor)}:${dev ? `${hex4(dev.lo)}-${hex4(dev.hi)}` : hex4(q.device)}`];
  if (q.condition.subsystemVendor !== undefined || q.condition.subsystemDevice !== undefined) {
    parts.push(`subsys=${hex4(q.condition.subsystemVendor ?? null)}:${hex4(q.condition.subsystemDevice ?? null)}`);
  }
  const cls = classOf(q);
  if (cls) parts.push(`class=${(cls.value >> 8).toString(16).padStart(cls.mask === 0xffff00 ? 4 : 6, '0').slice(0, cls.mask === 0xffff00 ? 4 : 6)}`);
  if (q.condition.revision !== undefined) parts.push(`rev=${q.condition.revision.toString(16).padStart(2, '0')}`);
  if (q.condition.rootBus === false) parts.push('rootbus=no');
  return parts.join(' ');
}

/** A (device & mask) == value condition as an ID range, when the mask is a run of high bits. */
function rangeOf(c: { mask: number; value: number }): { lo: number; hi: number } | null {
  const low = ~c.mask & 0xffff;
  if ((low & (low + 1)) !== 0) return null;
  return { lo: c.value & c.mask, hi: (c.value & c.mask) | low };
}

/** Class fixup as our 24-bit class/mask: (class >> shift) == value. */
function classOf(q: KernelQuirk): { value: number; mask: number } | null {
  if (!q.cls) return null;
  return { value: (q.cls.value << q.cls.shift) & 0xffffff, mask: (0xffffff >> q.cls.shift) << q.cls.shift };
}

function actionsText(q: KernelQuirk): string {
  const e = q.effect;
  const parts: string[] = [];
  if (e.deviceSpecific) parts.push('prefer=kernel:device_specific');
  if (e.preferKernel) parts.push('prefer=kernel');
  if (e.noFlr) parts.push('no_flr');
  if (e.noPm) parts.push('no_pm');
  if (e.noBus) parts.push('no_bus');
  if (e.d3hotMs !== undefined) parts.push(`d3hot=${e.d3hotMs}ms`);
  if (e.d3hotGlobalMs !== undefined) parts.push(`d3hot_global=${e.d3hotGlobalMs}ms`);
  if (e.d3coldMs !== undefined) parts.push(`d3cold=${e.d3coldMs}ms`);
  if (e.info && parts.length === 0) parts.push('info');
  return parts.join(' ');
}

/** Does the entry's match cover the functions the kernel quirk applies to (vendor, device, class, subsystem, revision)? */
function sameTarget(e: QuirkEntry, q: KernelQuirk): boolean {
  const m = e.match;
  if (m.vendor !== q.vendor) return false;
  const range = q.condition.deviceMask ? rangeOf(q.condition.deviceMask) : null;
  if (range) {
    if (m.deviceLo !== range.lo || m.deviceHi !== range.hi) return false;
  } else if (q.device === null) {
    if (m.deviceLo !== null) return false;
  } else if (m.deviceLo === null || q.device < m.deviceLo || q.device > m.deviceHi!) {
    return false;
  }
  return true;
}

/** Differences between what the kernel quirk does and what the entry says. */
function differences(e: QuirkEntry, q: KernelQuirk): string[] {
  const out: string[] = [];
  const k = q.effect;
  const flag = (has: boolean | undefined, set: boolean, name: string): void => {
    if (has && !set) out.push(`the kernel sets ${name}, the entry does not`);
  };
  flag(k.noBus, e.noBus, 'no_bus');
  flag(k.noFlr, e.noFlr, 'no_flr');
  flag(k.noPm, e.noPm, 'no_pm');
  const num = (kv: number | undefined, ev: number | null, name: string): void => {
    if (kv !== undefined && kv !== ev) out.push(`the kernel says ${name}=${kv}ms, the entry ${ev === null ? 'says nothing' : `${name}=${ev}ms`}`);
  };
  num(k.d3hotMs, e.d3hotMs, 'd3hot');
  num(k.d3hotGlobalMs, e.d3hotGlobalMs, 'd3hot_global');
  num(k.d3coldMs, e.d3coldMs, 'd3cold');
  if (k.deviceSpecific && !(e.prefer ?? []).includes('kernel:device_specific')) out.push('the kernel has a device_specific reset, the entry does not prefer kernel:device_specific');
  const cls = classOf(q);
  if (cls && (e.match.classMask !== cls.mask || e.match.classValue !== cls.value)) {
    out.push(`the kernel applies it to class ${cls.value.toString(16).padStart(6, '0')}/${cls.mask.toString(16).padStart(6, '0')}, the entry to ${e.match.classMask ? `${e.match.classValue.toString(16).padStart(6, '0')}/${e.match.classMask.toString(16).padStart(6, '0')}` : 'any class'}`);
  }
  const c = q.condition;
  if (c.revision !== undefined && (e.match.revLo !== c.revision || e.match.revHi !== c.revision)) out.push(`the kernel applies it to revision ${c.revision.toString(16).padStart(2, '0')} only`);
  if (c.rootBus === false && e.match.rootBus !== false) out.push('the kernel skips functions on a root bus (rootbus=no)');
  if (c.subsystemVendor !== undefined && e.match.subsystemVendor !== c.subsystemVendor) out.push(`the kernel applies it to subsystem vendor ${hex4(c.subsystemVendor)} only`);
  if (c.subsystemDevice !== undefined && e.match.subsystemDevice !== c.subsystemDevice) out.push(`the kernel applies it to subsystem device ${hex4(c.subsystemDevice)} only`);
  return out;
}

/** The quirks.c line an entry's reason cites, if any. */
function citedLine(e: QuirkEntry): number | null {
  const m = /drivers\/pci\/quirks\.c:(\d+)/.exec(e.reason);
  return m ? parseInt(m[1]!, 10) : null;
}

export function diffKernel(table: QuirkTable, quirks: KernelQuirk[], fileLabel = 'drivers/pci/quirks.c'): KernelDiff {
  const items: KernelDiffItem[] = [];
  let matched = 0;
  const used = new Set<QuirkEntry>();
  const mirrored = table.entries.filter((e) => e.kernel !== null);
  for (const q of quirks) {
    const candidates = mirrored.filter((e) => e.kernel === q.fn && sameTarget(e, q));
    const where = `${fileLabel}:${q.line}`;
    if (candidates.length === 0) {
      const suggestion = `${kernelMatchText(q)}  ${actionsText(q)}  kernel=${q.fn}\n    reason="${q.fn}, ${where}: <what the kernel comment says>"`;
      items.push({ kind: 'missing', kernelLine: q.line, fn: q.fn, entry: null, message: `${where}: ${q.fn} (${q.mechanism}) for ${kernelMatchText(q)} is not in the table`, suggestion });
      continue;
    }
    // Prefer the entry that cites this very line, then the one with the fewest differences.
    const ranked = candidates
      .map((e) => ({ e, diffs: differences(e, q), cites: citedLine(e) === q.line }))
      .sort((a, b) => Number(b.cites) - Number(a.cites) || a.diffs.length - b.diffs.length);
    const best = ranked[0]!;
    used.add(best.e);
    if (best.diffs.length) {
      items.push({ kind: 'different', kernelLine: q.line, fn: q.fn, entry: cite(best.e), message: `${where}: ${q.fn} for ${kernelMatchText(q)}: ${best.diffs.join('; ')} (${cite(best.e)})`, suggestion: null });
      continue;
    }
    matched++;
    const cited = citedLine(best.e);
    if (cited !== null && cited !== q.line) {
      items.push({ kind: 'moved', kernelLine: q.line, fn: q.fn, entry: cite(best.e), message: `${cite(best.e)} cites drivers/pci/quirks.c:${cited}; ${q.fn} for ${kernelMatchText(q)} is now at line ${q.line}`, suggestion: null });
    }
  }
  const kernelFns = new Set(quirks.map((q) => q.fn));
  for (const e of mirrored) {
    if (used.has(e) || citedLine(e) === null) continue; // entries citing other files (arch/, drivers/scsi/) are not in quirks.c
    const gone = kernelFns.has(e.kernel!) ? 'the file has no such quirk for this match' : `the file has no ${e.kernel}`;
    items.push({ kind: 'removed', kernelLine: null, fn: e.kernel!, entry: cite(e), message: `${cite(e)} ${formatMatch(e.match)} mirrors ${e.kernel}, but ${gone} (removed or changed upstream?)`, suggestion: null });
  }
  const order = { missing: 0, different: 1, removed: 2, moved: 3 };
  items.sort((a, b) => order[a.kind] - order[b.kind] || (a.kernelLine ?? 0) - (b.kernelLine ?? 0));
  return { items, matched };
}
