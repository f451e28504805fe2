import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { acquireLock } from '../../src/apply/lock.js';
import { readKmsg } from '../../src/iommu/kmsg/read-kmsg.js';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { scan } from '../../src/scan/scan.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';

/**
 * Issue 11, items 5, 6, 15 and 16: FIFOs, character devices, 1 GB files, names that are not UTF-8 and a
 * `driver` link to itself, in a mock tree under a temp root. Before the fix the FIFOs hung the scan for
 * good (a blocking open), the devices and big files were read whole, the non-UTF-8 name read a decoy.
 */
const rp: MockFunction = { bdf: '0000:00:01.0', vendor: 0x8086, device: 0x2030, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port' }, pm: {} };
const ep: MockFunction = { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, pm: {}, driver: 'e1000e', iommuGroup: 3 };
const EP = '0000:01:00.0';

function tree(): { dir: string; fn: string } {
  const dir = new MockTree().addAll([rp, ep]).write(tmpDir());
  return { dir, fn: fs.realpathSync(path.join(dir, 'sys/bus/pci/devices', EP)) };
}

function mkfifo(p: string): void {
  fs.rmSync(p, { force: true });
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo ${p}: ${r.stderr}`);
}

/** mknod of a character device, or the reason it cannot be made here (not root, a nodev mount). */
function mknodReason(): string | null {
  const dir = tmpDir();
  const r = spawnSync('mknod', [path.join(dir, 'zero'), 'c', '1', '5']);
  if (r.status !== 0) return `mknod not allowed here: ${String(r.stderr).trim()}`;
  try {
    fs.closeSync(fs.openSync(path.join(dir, 'zero'), 'r'));
  } catch (err) {
    return `device nodes cannot be opened in the temp directory (${(err as NodeJS.ErrnoException).code})`;
  }
  return null;
}
const noMknod = mknodReason();

function mknod(p: string, major: number, minor: number): void {
  fs.rmSync(p, { force: true });
  const r = spawnSync('mknod', [p, 'c', String(major), String(minor)]);
  if (r.status !== 0) throw new Error(`mknod ${p}: ${r.stderr}`);
}

function sparse(p: string, bytes = 2 ** 30): void {
  fs.rmSync(p, { force: true });
  fs.writeFileSync(p, 'flr\n');
  fs.truncateSync(p, bytes);
}

function scanEp(dir: string): { problems: string[]; device: ReturnType<typeof scan>['devices'][number] | undefined } {
  const r = scan(new SysfsAccess(new Root(dir)), dir);
  const d = r.devices.find((x) => x.bdf === EP);
  return { problems: [...r.problems, ...(d?.problems ?? [])], device: d };
}

describe('non-regular files are refused by name, never read (item 5)', () => {
  it('a FIFO in place of config, vendor and reset_method: the scan ends, each named', () => {
    const { dir, fn } = tree();
    for (const name of ['config', 'vendor', 'reset_method']) mkfifo(path.join(fn, name));
    const { problems, device } = scanEp(dir);
    expect(device).toBeDefined();
    for (const name of ['config', 'vendor', 'reset_method']) {
      expect(problems.some((p) => p.startsWith(`${name}: `) && p.includes(`${name}: a FIFO, not a regular file`))).toBe(true);
    }
    expect(device!.resetMethods).toBeNull();
  });

  it.skipIf(noMknod !== null)(`a /dev/zero-like device in place of config and reset_method: refused, not read (${noMknod ?? 'mknod allowed'})`, () => {
    const { dir, fn } = tree();
    mknod(path.join(fn, 'config'), 1, 5);
    mknod(path.join(fn, 'reset_method'), 1, 5);
    const { problems } = scanEp(dir);
    expect(problems.some((p) => p.startsWith('config: ') && p.includes('a character device 1:5, not a regular file'))).toBe(true);
    expect(problems.some((p) => p.startsWith('reset_method: ') && p.includes('a character device 1:5'))).toBe(true);
  });

  it.skipIf(noMknod !== null)(`a /dev/zero-like device in place of vendor, proc/cmdline and the DMAR table: refused by name, never read (${noMknod ?? 'mknod allowed'})`, async () => {
    const { dir, fn } = tree();
    // The scan reads `vendor` only when config space does not give it (config gone, or a VF): take config away.
    fs.rmSync(path.join(fn, 'config'));
    mknod(path.join(fn, 'vendor'), 1, 5);
    for (const rel of ['proc/cmdline', 'sys/firmware/acpi/tables/DMAR']) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.rmSync(path.join(dir, rel), { force: true });
      mknod(path.join(dir, rel), 1, 5);
    }
    const { problems } = scanEp(dir);
    expect(problems.some((p) => p.startsWith('vendor: ') && p.includes('a character device 1:5, not a regular file'))).toBe(true);
    const { stdout } = await runCli(['iommu', '--root', dir, '--json']);
    for (const rel of ['proc/cmdline', 'sys/firmware/acpi/tables/DMAR']) expect(stdout).toContain(`${rel}: a character device 1:5`);
  });

  it('a FIFO for proc/cmdline, osrelease, an ACPI table and dev/kmsg: iommu ends with named problems', async () => {
    const { dir } = tree();
    for (const rel of ['proc/cmdline', 'proc/sys/kernel/osrelease', 'sys/firmware/acpi/tables/DMAR', 'dev/kmsg']) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      mkfifo(path.join(dir, rel));
    }
    const { stdout } = await runCli(['iommu', '--root', dir, '--json']);
    const text = stdout;
    for (const rel of ['proc/cmdline', 'proc/sys/kernel/osrelease', 'sys/firmware/acpi/tables/DMAR', 'dev/kmsg']) expect(text).toContain(`${rel}: a FIFO`);
  });

  it.skipIf(noMknod !== null)(`dev/kmsg must be the kmsg device 1:11: a /dev/zero-like node is refused (${noMknod ?? 'mknod allowed'})`, () => {
    const { dir } = tree();
    fs.mkdirSync(path.join(dir, 'dev'));
    mknod(path.join(dir, 'dev/kmsg'), 1, 5);
    const k = readKmsg(new Root(dir));
    expect(k?.problems.join('\n')).toMatch(/dev\/kmsg: .*a character device 1:5, not the kernel log device \/dev\/kmsg \(character device 1:11\): refused/);
  });

  it('--kmsg naming a FIFO is refused, not waited on', () => {
    const fifo = path.join(tmpDir(), 'kmsg');
    mkfifo(fifo);
    const k = readKmsg(new Root(tmpDir()), fifo);
    expect(k?.problems[0]).toMatch(/--kmsg .*kmsg: .*a FIFO, not a regular file/);
  });

  it('a FIFO in place of the lock is removed, never opened for reading', () => {
    const { dir } = tree();
    fs.mkdirSync(path.join(dir, 'run/pci-reset-agent'), { recursive: true });
    mkfifo(path.join(dir, 'run/pci-reset-agent/apply.lock'));
    const lock = acquireLock(new Root(dir));
    expect(lock.recovered).toBe('a FIFO in place of the lock, removed (never followed nor read)');
    expect(fs.readFileSync(lock.path, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });
});

describe('huge files are refused by size, never read whole (item 6)', () => {
  it('a 1 GB sparse config, vendor and reset_method: refused at their caps', () => {
    const { dir, fn } = tree();
    for (const name of ['config', 'vendor', 'reset_method']) sparse(path.join(fn, name));
    const before = process.memoryUsage().rss;
    const { problems } = scanEp(dir);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
    expect(problems.some((p) => p.startsWith('config: ') && p.includes('1073741824 bytes, more than a PCI config space can hold (4096): refused'))).toBe(true);
    expect(problems.some((p) => p.startsWith('vendor: ') && p.includes('more than a sysfs attribute can hold (4096)'))).toBe(true);
    expect(problems.some((p) => p.startsWith('reset_method: ') && p.includes('EFBIG'))).toBe(true);
  });

  it('1 GB sparse proc/cmdline, DMAR and dev/kmsg: iommu ends with named problems', async () => {
    const { dir } = tree();
    for (const rel of ['proc/cmdline', 'sys/firmware/acpi/tables/DMAR', 'dev/kmsg']) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      sparse(path.join(dir, rel));
    }
    const { stdout } = await runCli(['iommu', '--root', dir, '--json']);
    expect(stdout).toMatch(/proc\/cmdline: 1073741824 bytes, more than a proc file can hold \(4096\)/);
    expect(stdout).toMatch(/dev\/kmsg: 1073741824 bytes, more than a kernel log can hold/);
    // A sparse DMAR reads as zeros: Length 0, so only its header is read, and the parser names it.
    expect(stdout).toContain('DMAR');
  });

  it('an ACPI table whose Length field is over the cap is refused without reading it', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'sys/firmware/acpi/tables/DMAR');
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const h = Buffer.alloc(48);
    h.write('DMAR', 0, 'latin1');
    h.writeUInt32LE(0x7fffffff, 4);
    fs.writeFileSync(p, h);
    expect(() => new Root(dir).readAcpiTable('sys/firmware/acpi/tables/DMAR')).toThrow(/header Length 2147483647 is more than an ACPI table can hold here \(1048576\): refused/);
  });
});

describe('names that are not UTF-8 are refused by name (item 15)', () => {
  it('a listing link into a \\xff directory never reads the decoy at its lossy spelling', () => {
    const dir = new MockTree().addAll([rp]).write(tmpDir());
    const enc = (s: string): Buffer => Buffer.from(s);
    const real = Buffer.concat([enc(`${dir}/sys/devices/`), Buffer.from([0xff])]);
    const decoy = path.join(dir, 'sys/devices/\ufffd/0000:01:00.0');
    fs.mkdirSync(Buffer.concat([real, enc('/0000:01:00.0')]), { recursive: true });
    fs.mkdirSync(decoy, { recursive: true });
    const cfg = Buffer.alloc(256);
    cfg.writeUInt16LE(0xdead, 0);
    fs.writeFileSync(path.join(decoy, 'config'), cfg);
    const link = Buffer.concat([enc('../../../devices/'), Buffer.from([0xff]), enc('/0000:01:00.0')]);
    fs.symlinkSync(link, path.join(dir, 'sys/bus/pci/devices/0000:01:00.0'));
    const r = scan(new SysfsAccess(new Root(dir)), dir);
    expect(r.devices.map((d) => d.vendor)).not.toContain('dead');
    expect(r.problems.join('\n')).toContain('0000:01:00.0: ');
    expect(r.problems.join('\n')).toContain('link target "../../../devices/\\xff/0000:01:00.0" refused: name is not valid UTF-8 (EILSEQ)');
  });

  it('a listing entry whose own name is not UTF-8 is named, escaped', () => {
    const dir = new MockTree().addAll([rp]).write(tmpDir());
    fs.mkdirSync(Buffer.concat([Buffer.from(`${dir}/sys/bus/pci/devices/0000:00:02.`), Buffer.from([0xff])]));
    const r = scan(new SysfsAccess(new Root(dir)), dir);
    expect(r.problems).toContain('sys/bus/pci/devices/0000:00:02.\\xff: name is not valid UTF-8, ignored');
  });
});

describe('a driver link to itself is no driver (item 16)', () => {
  it('driver -> driver: no driver named "driver", a problem instead', () => {
    const { dir, fn } = tree();
    fs.rmSync(path.join(fn, 'driver'));
    fs.symlinkSync('driver', path.join(fn, 'driver'));
    const { problems, device } = scanEp(dir);
    expect(device!.driver).toBeNull();
    expect(problems.some((p) => p.startsWith('driver: ') && p.includes('link does not lead to a directory'))).toBe(true);
  });
});
