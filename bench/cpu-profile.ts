import * as fs from 'node:fs';
import { SourceMap } from 'node:module';

/**
 * Where the CPU time of one `node --cpu-prof` run of the bundle went, by concern of the agent: self time
 * of every sampled frame, mapped through the bundle's source map to its source file, and charged to the
 * first frame on its stack (itself or a caller) that belongs to one of our concerns, so `JSON.stringify`
 * called from the logger counts as logging and an `fs.readSync` called from the scan as scanning.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * Concerns that win wherever they are on the stack (the logger called from a step is logging; the
 * simulator standing in for sysfs is not the agent's work), then the innermost frame from one of the
 * agent's phases. Shared code (config decoding, sysfs access, BDFs, topology) belongs to whoever calls it.
 */
const ANYWHERE: [string, RegExp][] = [
  ['logging (pino, kmsg records)', /src\/apply\/log\.ts|node_modules\/(pino|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify|pino-std-serializers|process-warning|real-require)\//],
  ['simulator (stands in for sysfs; not in a real run)', /src\/(simulator|mock)\//],
];
const PHASES: [string, RegExp][] = [
  ['report (JSON, file)', /src\/apply\/(render-report|apply-report)\.ts/],
  ['stop DMA (last phase)', /src\/apply\/stop-dma\.ts/],
  ['executor (steps, save/restore, waits)', /src\/apply\//],
  ['IOMMU evidence', /src\/(iommu|capture)\//],
  ['plan (quirks, planner)', /src\/(plan|quirks)\//],
  ['scan (sysfs, config decode, topology)', /src\/scan\//],
  ['CLI (commander, option parsing)', /src\/cli\/|node_modules\/commander\//],
];
const SPECIAL: Record<string, string> = {
  '(garbage collector)': 'garbage collection',
  '(idle)': 'idle (waiting: timers, thread pool)',
  '(program)': 'node itself (start-up, compile, native)',
};
const UNATTRIBUTED = 'node internals, module loading';

export interface ProfileBreakdown {
  /** ms per concern, largest first */
  rows: { concern: string; ms: number }[];
  totalMs: number;
}

export function breakdown(profileFile: string, bundleFile: string, mapFile: string): ProfileBreakdown {
  const prof = JSON.parse(fs.readFileSync(profileFile, 'utf8')) as CpuProfile;
  const map = new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8')));
  const bundleUrl = `file://${bundleFile}`;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const sources = new Map<number, string>();
  const sourceOf = (n: ProfileNode): string => {
    let src = sources.get(n.id);
    if (src === undefined) {
      src = n.callFrame.url === bundleUrl ? ((map.findEntry(n.callFrame.lineNumber, n.callFrame.columnNumber) as { originalSource?: string }).originalSource ?? '') : '';
      sources.set(n.id, src);
    }
    return src;
  };
  const charged = new Map<number, string>();
  const concernOf = (id: number): string => {
    const hit = charged.get(id);
    if (hit) return hit;
    const leaf = byId.get(id)!;
    let result: string | undefined = SPECIAL[leaf.callFrame.functionName];
    if (result === undefined) {
      const stack: string[] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(sourceOf(byId.get(cur)!));
      result = ANYWHERE.find(([, re]) => stack.some((s) => re.test(s)))?.[0];
      for (const s of stack) {
        if (result !== undefined) break;
        result = PHASES.find(([, re]) => re.test(s))?.[0];
      }
      result ??= stack.some((s) => s !== '') ? 'other bundled code' : UNATTRIBUTED;
    }
    charged.set(id, result);
    return result;
  };
  const ms = new Map<string, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const c = concernOf(prof.samples[i]!);
    ms.set(c, (ms.get(c) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
  }
  const rows = [...ms.entries()].map(([concern, v]) => ({ concern, ms: v })).sort((a, b) => b.ms - a.ms);
  return { rows, totalMs: (prof.endTime - prof.startTime) / 1000 };
}
