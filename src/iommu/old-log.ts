import * as fs from 'node:fs';
import * as path from 'node:path';
import { KMSG_FILE, readHostFile } from '../access/bounded-read.js';
import type { Root } from '../access/root.js';
import { describeError } from './describe-error.js';

export interface OldLogText {
  text: string;
  /** `vmcore-dmesg /proc/vmcore` or the file given. */
  source: string;
  problems: string[];
  notes: string[];
}

export interface OldLogOptions {
  file?: string;
  /** Bound on vmcore-dmesg (it walks the old kernel's printk ring inside /proc/vmcore). */
  timeoutMs?: number;
  /** PATH to search; the process's PATH by default. */
  pathEnv?: string;
  /** Run vmcore-dmesg on ROOT/proc/vmcore even when the root is not `/` (tests, a chroot with /proc bound). */
  anyRoot?: boolean;
}

export const VMCORE_DMESG_TIMEOUT_MS = 15_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * The crashed kernel's own log: the only witness of its IOMMU state once the capture kernel switched
 * translation off. Read from `--old-log FILE`, or by running kexec-tools' `vmcore-dmesg` on
 * /proc/vmcore — only when the root is the real `/` (it reads the live /proc/vmcore, not a path under
 * another root), /proc/vmcore exists and the binary is on PATH; bounded by a timeout.
 */
export async function readOldLog(root: Root, opts: OldLogOptions = {}): Promise<OldLogText | null> {
  if (opts.file !== undefined) {
    try {
      return { text: readHostFile(opts.file, KMSG_FILE).toString('utf8'), source: opts.file, problems: [], notes: [] };
    } catch (err) {
      return { text: '', source: opts.file, problems: [`--old-log ${opts.file}: ${describeError(err)}`], notes: [] };
    }
  }
  if (!root.isHostRoot && !opts.anyRoot) return null;
  if (!root.exists('proc/vmcore')) return null;
  const vmcore = root.resolve('proc/vmcore');
  const bin = which('vmcore-dmesg', opts.pathEnv ?? process.env.PATH ?? '');
  if (!bin) {
    return { text: '', source: 'vmcore-dmesg', problems: [], notes: ['vmcore-dmesg not on PATH: the crashed kernel\'s log was not read (install kexec-tools in the kdump initramfs, or pass --old-log)'] };
  }
  const timeout = opts.timeoutMs ?? VMCORE_DMESG_TIMEOUT_MS;
  const started = Date.now();
  // Imported here, not at the top: only a capture kernel runs vmcore-dmesg, and loading child_process
  // costs every other command (scan, plan) start-up time.
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(bin, [vmcore], { timeout, maxBuffer: MAX_OUTPUT, encoding: 'utf8', killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const source = `${bin} ${vmcore}`;
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        const why = e.killed
          ? `killed after ${Date.now() - started} ms (timeout ${timeout} ms)`
          : `${typeof e.code === 'number' ? `exit status ${e.code}` : describeError(err)}${stderr ? `: ${firstLine(stderr)}` : ''}`;
        // Partial output is still the old kernel's words; keep it.
        resolve({ text: stdout ?? '', source, problems: [`${source}: ${why}`], notes: [] });
        return;
      }
      resolve({ text: stdout, source, problems: [], notes: [] });
    });
  });
}

function which(name: string, pathEnv: string): string | null {
  for (const dir of pathEnv.split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 160) ?? '';
}
