import type { Presence } from './sim-function.js';

/** One function's device state at an instant: config as stored (not as a read would show it mid-reset). */
export interface FunctionSnapshot {
  bdf: string;
  presence: Presence;
  reachable: boolean;
  config: Uint8Array;
  /** `reset_method` content, null when the function has no such file. */
  resetMethod: string | null;
}

export type SimSnapshot = Map<string, FunctionSnapshot>;

export interface SimDifference {
  bdf: string;
  /** `config@0x10` (a dword), `presence`, `reachable`, `reset_method`. */
  what: string;
  before: string;
  after: string;
}

/** Differences between two snapshots, per function and config dword, in BDF and offset order. */
export function diffSnapshots(a: SimSnapshot, b: SimSnapshot): SimDifference[] {
  const out: SimDifference[] = [];
  const bdfs = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const bdf of bdfs) {
    const x = a.get(bdf);
    const y = b.get(bdf);
    if (!x || !y) {
      out.push({ bdf, what: 'function', before: x ? 'present' : 'absent', after: y ? 'present' : 'absent' });
      continue;
    }
    if (x.presence !== y.presence) out.push({ bdf, what: 'presence', before: x.presence, after: y.presence });
    if (x.reachable !== y.reachable) out.push({ bdf, what: 'reachable', before: String(x.reachable), after: String(y.reachable) });
    if (x.resetMethod !== y.resetMethod) out.push({ bdf, what: 'reset_method', before: String(x.resetMethod), after: String(y.resetMethod) });
    const len = Math.max(x.config.length, y.config.length);
    for (let o = 0; o < len; o += 4) {
      const dx = dword(x.config, o);
      const dy = dword(y.config, o);
      if (dx !== dy) out.push({ bdf, what: `config@0x${o.toString(16).padStart(3, '0')}`, before: hex8(dx), after: hex8(dy) });
    }
  }
  return out;
}

function dword(b: Uint8Array, o: number): number | null {
  if (o + 3 >= b.length) return null;
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function hex8(n: number | null): string {
  return n === null ? 'none' : `0x${n.toString(16).padStart(8, '0')}`;
}
