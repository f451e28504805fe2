import * as fs from 'node:fs';

/**
 * The least a Node program must do to scan a tree: the system calls `scan` makes for every function
 * (readlink of the listing entry, lstat of its directory, config open/read/close, readlink of `driver`
 * and `iommu_group`, lstat of `physfn`, `reset_method` open/read/close), through node:fs, with no
 * decoding, topology or output. Calls only some functions need (a VF's text IDs, an SR-IOV PF's listing
 * and virtfnN links) are left out, so the true floor is a little higher. bench/scan.ts runs it beside
 * `scan` to show how much of the scan's time is Node start-up plus system calls no JavaScript change
 * can remove.
 *
 * Usage: node scan-floor.js ROOT
 */
const root = process.argv[2]!;
const listDir = `${root}/sys/bus/pci/devices`;
const O = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;
const buf = Buffer.allocUnsafe(4096);
let bytes = 0;

function readInto(p: string): number {
  let fd: number;
  try {
    fd = fs.openSync(p, O);
  } catch {
    return 0;
  }
  try {
    return fs.readSync(fd, buf, 0, buf.length, 0);
  } finally {
    fs.closeSync(fd);
  }
}

function link(p: string): string | null {
  try {
    return fs.readlinkSync(p);
  } catch {
    return null;
  }
}

for (const name of fs.readdirSync(listDir)) {
  const target = link(`${listDir}/${name}`);
  if (target === null) continue;
  const dir = `${listDir}/${target}`;
  fs.lstatSync(dir);
  bytes += readInto(`${dir}/config`);
  link(`${dir}/driver`);
  link(`${dir}/iommu_group`);
  if (fs.lstatSync(`${dir}/physfn`, { throwIfNoEntry: false })) link(`${dir}/physfn`);
  bytes += readInto(`${dir}/reset_method`);
}
process.stdout.write(`${bytes}\n`);
