import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessError } from '../access/access-error.js';
import { SYSFS_ATTRIBUTE } from '../access/bounded-read.js';
import type { Root } from '../access/root.js';

/**
 * Writes the snapshot tree: files, relative links, and a warning for anything the source would not
 * give, so one unreadable attribute never stops a capture.
 */
export class SnapshotWriter {
  readonly warnings: string[] = [];
  files = 0;

  constructor(
    readonly out: string,
    private readonly source: Root,
  ) {}

  put(rel: string, content: Buffer | string, mode?: number): void {
    const p = path.join(this.out, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content, mode === undefined ? undefined : { mode });
    this.files++;
  }

  mkdir(rel: string): void {
    fs.mkdirSync(path.join(this.out, rel), { recursive: true });
  }

  /** A link at `rel` to the root-relative `targetRel`, written relative so the tree can move. */
  linkTo(rel: string, targetRel: string): void {
    const p = path.join(this.out, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (fs.existsSync(p) || isLink(p)) return;
    fs.symlinkSync(path.relative(path.dirname(p), path.join(this.out, targetRel)), p);
  }

  warn(w: string): void {
    this.warnings.push(w);
  }

  /** Run a read of the source; a failure becomes a warning naming `what`. */
  attempt<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.warn(`${what}: ${err instanceof AccessError ? err.message : (err as Error).message}`);
      return undefined;
    }
  }

  /** Copy a text file of the source when it exists. */
  copyText(rel: string): void {
    // Group and IOMMU unit attributes: sysfs files, a page at most (a FIFO or a huge file is a warning).
    const t = this.attempt(rel, () => this.source.readText(rel, SYSFS_ATTRIBUTE));
    if (t !== null && t !== undefined) this.put(rel, t);
  }

  /** Copy the source's link at `rel` (resolved inside the source root) when it is one. */
  copyLink(rel: string): void {
    const target = this.attempt(rel, () => this.source.readLink(rel));
    if (target) this.linkTo(rel, target);
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
