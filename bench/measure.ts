import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface Run {
  wallMs: number;
  peakRssKb: number | null;
}

const TIME = '/usr/bin/time';

/** Run a command with its output discarded; wall time and, where GNU time exists, peak RSS. */
export function measure(cmd: string, args: string[]): Run {
  const haveTime = fs.existsSync(TIME);
  const argv = haveTime ? ['-f', '%M', cmd, ...args] : args;
  const start = process.hrtime.bigint();
  const r = spawnSync(haveTime ? TIME : cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-400)}`);
  const lines = r.stderr.trim().split('\n');
  const rss = haveTime ? parseInt(lines[lines.length - 1]!, 10) : NaN;
  return { wallMs, peakRssKb: Number.isFinite(rss) ? rss : null };
}

/** Median of several runs after one warm-up (the page cache must hold the tree for both tools alike). */
export function median(cmd: string, args: string[], runs: number): Run {
  measure(cmd, args);
  const all = Array.from({ length: runs }, () => measure(cmd, args));
  const wall = all.map((r) => r.wallMs).sort((a, b) => a - b);
  const rss = all.map((r) => r.peakRssKb ?? 0).sort((a, b) => a - b);
  const mid = Math.floor(runs / 2);
  return { wallMs: wall[mid]!, peakRssKb: all[0]!.peakRssKb === null ? null : rss[mid]! };
}
