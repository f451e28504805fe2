import { FAULT_REASON_LINE, MESSAGES, reasonFromLine, type Fault, type LogEvent, type MessageSpec } from './messages.js';
import type { LogLine } from './log-lines.js';

/** A recognised line, kept for the evidence list. */
export interface LogHit {
  n: number;
  text: string;
  event: LogEvent;
}

export interface CutLine {
  n: number;
  text: string;
  /** The message it looks like the start of. */
  message: string;
  decisive: boolean;
}

/** What one kernel log says about the IOMMU, reduced to facts the verdict reads. */
export interface LogFacts {
  /** `kmsg`, `old-log` */
  source: string;
  lines: number;
  /** The log reaches back to the kernel's first message, so a message's absence means something. */
  complete: boolean;
  kernelRelease: string | null;
  cmdline: string | null;
  /** Every "Command line:" / "Kernel command line:" the log holds (x86 prints both; they may differ). */
  cmdlines: string[];
  hits: LogHit[];
  faults: (Fault & { n: number })[];
  cut: CutLine[];
  intel: {
    cmdline: 'on' | 'off' | null;
    remappingOn: boolean;
    initFailed: boolean;
    /** dmarN → register base, from the per-unit boot line. */
    addresses: Map<string, string>;
    drhdBases: string[];
    preEnabledNotKdump: Set<string>;
    copyAttempts: number;
    copied: Set<string>;
    copyFailed: Set<string>;
    irCopied: Set<string>;
    irCopyFailed: Set<string>;
    irPreEnabledNotKdump: Set<string>;
    irEnabled: string | null;
    /** dmarN → buses whose context table copy_translation_tables() could not copy. */
    contextCopyFailed: Map<string, number[]>;
  };
  amd: {
    found: (string | null)[];
    preEnabledNotKdump: Set<string>;
    copyAttempt: boolean;
    /** true: device table copied/reused; false: the copy failed; null: no such message. */
    copied: boolean | null;
    irEnabled: boolean;
    buffersReused: boolean;
    /** "Copied"/"Reused DEV table" wording: reused means the hardware keeps using the old table (6.18+). */
    tableVerb: 'copied' | 'reused' | null;
    /** "Extended features (…)" lines: the driver enabled the units (printed after early_enable_iommus()). */
    efr: { efr: bigint; snp: boolean }[];
    /** perf/amd_iommu "Detected AMD IOMMU #N": unit indexes whose counters were found after enabling. */
    perfUnits: number[];
    snpEnabled: boolean;
    /** The three "Re-using … from the previous kernel" lines (6.18, 6.17.y backport). */
    reusing: Set<string>;
    completionWaitTimeouts: number;
  };
  smmu: {
    /** "SMMU currently enabled! Resetting...": the kernel found SMMUEN set at probe. */
    resets: number;
    probed: (string | null)[];
  };
  defaultDomain: string | null;
}

const PHRASE_KEY = 12;

/**
 * Every message in MESSAGES (and every cut-line phrase) contains one of these words; a log of a busy
 * machine is mostly other lines, which one test skips.
 */
const RELEVANT = /Re-using|Completion-Wait|SMMU|ias \d|Linux version|ommand line|reg_base_addr|DRHD|IOMMU|Virtualization Tech|Initiali[sz]ation failed|Translation|Copied|Failed to|IRQ remap|AMD-Vi|Default domain|Request device|INTR-REMAP|fault|device=|Event logged|DEV table|event\/command/;

/** Recognise every IOMMU message of a log; lines cut part-way through a known message are listed, never guessed at. */
export function parseLog(lines: LogLine[], source: string, firstSeq: number | null = null): LogFacts {
  const f: LogFacts = {
    source,
    lines: lines.length,
    complete: firstSeq === 0,
    kernelRelease: null,
    cmdline: null,
    cmdlines: [],
    hits: [],
    faults: [],
    cut: [],
    intel: {
      cmdline: null,
      remappingOn: false,
      initFailed: false,
      addresses: new Map(),
      drhdBases: [],
      preEnabledNotKdump: new Set(),
      copyAttempts: 0,
      copied: new Set(),
      copyFailed: new Set(),
      irCopied: new Set(),
      irCopyFailed: new Set(),
      irPreEnabledNotKdump: new Set(),
      irEnabled: null,
      contextCopyFailed: new Map(),
    },
    amd: {
      found: [],
      preEnabledNotKdump: new Set(),
      copyAttempt: false,
      copied: null,
      irEnabled: false,
      buffersReused: false,
      tableVerb: null,
      efr: [],
      perfUnits: [],
      snpEnabled: false,
      reusing: new Set(),
      completionWaitTimeouts: 0,
    },
    smmu: { resets: 0, probed: [] },
    defaultDomain: null,
  };
  let lastFault: (Fault & { n: number }) | null = null;
  for (const line of lines) {
    const text = line.text;
    if (!RELEVANT.test(text)) {
      lastFault = null;
      continue;
    }
    // The second line of a pre-4.2 two-line VT-d fault report belongs to the fault just before it.
    const reason = FAULT_REASON_LINE.exec(text);
    if (reason) {
      if (lastFault && lastFault.reason === null) lastFault.reason = reasonFromLine(reason);
      lastFault = null;
      continue;
    }
    const match = recognise(text);
    if (!match) {
      lastFault = null;
      const cut = cutMessage(text);
      if (cut) f.cut.push({ n: line.n, text, message: cut.name, decisive: cut.decisive });
      continue;
    }
    const event = match;
    if (event.kind === 'fault') {
      const fault = { ...event, n: line.n };
      f.faults.push(fault);
      lastFault = fault;
      continue;
    }
    lastFault = null;
    f.hits.push({ n: line.n, text, event });
    apply(f, event);
  }
  // The banner is the kernel's first message (arm64 prints "Booting Linux on physical CPU" just before it).
  if (lines.slice(0, 5).some((l) => l.text.includes('Linux version '))) f.complete = true;
  return f;
}

function recognise(text: string): LogEvent | null {
  for (const spec of MESSAGES) {
    const m = spec.re.exec(text);
    if (m) return spec.build(m);
  }
  return null;
}

/** A line that holds the start of a known message but not all of it (cut by a reader, a buffer or a crash). */
function cutMessage(text: string): MessageSpec | null {
  for (const spec of MESSAGES) {
    if (spec.phrase.length < PHRASE_KEY) continue;
    const at = text.indexOf(spec.phrase.slice(0, PHRASE_KEY));
    if (at < 0) continue;
    const rest = text.slice(at).trimEnd();
    if (spec.phrase.startsWith(rest) || rest.startsWith(spec.phrase)) return spec;
  }
  return null;
}

function apply(f: LogFacts, e: LogEvent): void {
  switch (e.kind) {
    case 'linux-version':
      if (f.kernelRelease === null) f.kernelRelease = e.release;
      break;
    case 'cmdline':
      if (f.cmdline === null) f.cmdline = e.text;
      f.cmdlines.push(e.text);
      break;
    case 'intel-unit':
      f.intel.addresses.set(e.unit, e.address);
      break;
    case 'intel-drhd':
      f.intel.drhdBases.push(e.address);
      break;
    case 'intel-cmdline':
      f.intel.cmdline = e.state;
      break;
    case 'intel-remapping-on':
      f.intel.remappingOn = true;
      break;
    case 'intel-init-failed':
      f.intel.initFailed = true;
      break;
    case 'intel-pre-enabled-not-kdump':
      f.intel.preEnabledNotKdump.add(e.unit);
      break;
    case 'intel-copy-attempt':
      f.intel.copyAttempts++;
      break;
    case 'intel-copied':
      f.intel.copied.add(e.unit);
      break;
    case 'intel-copy-failed':
      f.intel.copyFailed.add(e.unit);
      break;
    case 'ir-pre-enabled-not-kdump':
      f.intel.irPreEnabledNotKdump.add(e.unit);
      break;
    case 'ir-copied':
      f.intel.irCopied.add(e.unit);
      break;
    case 'ir-copy-failed':
      f.intel.irCopyFailed.add(e.unit);
      break;
    case 'ir-enabled':
      f.intel.irEnabled = e.mode;
      break;
    case 'amd-pre-enabled-not-kdump':
      f.amd.preEnabledNotKdump.add(e.unit);
      break;
    case 'amd-copy-attempt':
      f.amd.copyAttempt = true;
      break;
    case 'amd-copied':
      f.amd.copied = true;
      f.amd.tableVerb = e.verb;
      break;
    case 'amd-copy-failed':
      f.amd.copied = false;
      break;
    case 'amd-found':
      f.amd.found.push(e.bdf);
      break;
    case 'amd-ir-enabled':
      f.amd.irEnabled = true;
      break;
    case 'amd-buffers-reused':
      f.amd.buffersReused = true;
      break;
    case 'amd-efr':
      f.amd.efr.push({ efr: e.efr, snp: e.snp });
      break;
    case 'amd-perf':
      f.amd.perfUnits.push(e.index);
      break;
    case 'amd-snp-enabled':
      f.amd.snpEnabled = true;
      break;
    case 'amd-reusing':
      f.amd.reusing.add(e.what);
      break;
    case 'amd-completion-wait-timeout':
      f.amd.completionWaitTimeouts++;
      break;
    case 'intel-context-copy-failed':
      f.intel.contextCopyFailed.set(e.unit, [...(f.intel.contextCopyFailed.get(e.unit) ?? []), e.bus]);
      break;
    case 'smmu-reset':
      f.smmu.resets++;
      break;
    case 'smmu-probed':
      f.smmu.probed.push(e.device);
      break;
    case 'default-domain':
      f.defaultDomain = e.type;
      break;
    case 'fault-status':
    case 'fault':
      break;
  }
}
