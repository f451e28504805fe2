import { execFileSync } from 'node:child_process';

/** What lspci -vvv -nn -D says about one function, reduced to what the scan also reports. */
export interface LspciFunction {
  bdf: string;
  vendor: string;
  device: string;
  /** Base class + subclass, 4 hex digits (lspci prints no prog-if in the brackets). */
  class4: string;
  revision: string | null;
  subsystem: string | null;
  capOffsets: number[];
  extCapOffsets: number[];
  capIds: Map<number, number>;
  flReset: boolean | null;
  noSoftRst: boolean | null;
  af: { tp: boolean; flr: boolean } | null;
  bus: { primary: number; secondary: number; subordinate: number } | null;
}

/** lspci's names for the capabilities our trees use, to check IDs as well as offsets. */
const CAP_NAMES: [RegExp, number][] = [
  [/^Power Management/, 0x01],
  [/^MSI:/, 0x05],
  [/^Express/, 0x10],
  [/^MSI-X:/, 0x11],
  [/^PCI Advanced Features/, 0x13],
];
const EXT_NAMES: [RegExp, number][] = [
  [/^Advanced Error Reporting/, 0x01],
  [/^Access Control Services/, 0x0d],
  [/^Single Root I\/O Virtualization/, 0x10],
  [/^Latency Tolerance Reporting/, 0x18],
];

export function lspciAvailable(): boolean {
  try {
    execFileSync('lspci', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Run lspci over a mock tree through its sysfs backend. */
export function lspci(root: string): LspciFunction[] {
  const out = execFileSync('lspci', ['-A', 'linux-sysfs', '-O', `sysfs.path=${root}/sys/bus/pci`, '-vvv', '-nn', '-D'], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const fns: LspciFunction[] = [];
  let cur: LspciFunction | null = null;
  let inPm = false;
  for (const line of out.split('\n')) {
    const head = /^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) .*\[([0-9a-f]{4})\]: .*\[([0-9a-f]{4}):([0-9a-f]{4})\](?: \(rev ([0-9a-f]{2})\))?/.exec(line);
    if (head) {
      cur = {
        bdf: head[1]!, class4: head[2]!, vendor: head[3]!, device: head[4]!, revision: head[5] ?? null, subsystem: null,
        capOffsets: [], extCapOffsets: [], capIds: new Map(), flReset: null, noSoftRst: null, af: null, bus: null,
      };
      fns.push(cur);
      inPm = false;
      continue;
    }
    if (!cur) continue;
    let m: RegExpExecArray | null;
    if ((m = /^\tSubsystem: .*\[([0-9a-f]{4}:[0-9a-f]{4})\]/.exec(line))) cur.subsystem = m[1]!;
    if ((m = /^\tCapabilities: \[([0-9a-f]+)\] (.*)$/.exec(line))) {
      const off = parseInt(m[1]!, 16);
      cur.capOffsets.push(off);
      inPm = m[2]!.startsWith('Power Management');
      for (const [re, id] of CAP_NAMES) if (re.test(m[2]!)) cur.capIds.set(off, id);
      continue;
    }
    if ((m = /^\tCapabilities: \[([0-9a-f]+) v\d+\] (.*)$/.exec(line))) {
      const off = parseInt(m[1]!, 16);
      cur.extCapOffsets.push(off);
      for (const [re, id] of EXT_NAMES) if (re.test(m[2]!)) cur.capIds.set(off, id);
      inPm = false;
      continue;
    }
    if (/FLReset[+-]/.test(line) && /ExtTag|RBE|FLReset/.test(line) && cur.flReset === null) cur.flReset = line.includes('FLReset+');
    if (inPm && (m = /NoSoftRst([+-])/.exec(line))) cur.noSoftRst = m[1] === '+';
    if ((m = /^\t\tAFCap: TP([+-]) FLR([+-])/.exec(line))) cur.af = { tp: m[1] === '+', flr: m[2] === '+' };
    if ((m = /^\tBus: primary=([0-9a-f]+), secondary=([0-9a-f]+), subordinate=([0-9a-f]+)/.exec(line))) {
      cur.bus = { primary: parseInt(m[1]!, 16), secondary: parseInt(m[2]!, 16), subordinate: parseInt(m[3]!, 16) };
    }
  }
  return fns;
}
