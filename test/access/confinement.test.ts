import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { forceWalk } from '../../src/access/open-in-root.js';
import { acquireLock, LockHeld } from '../../src/apply/lock.js';
import { KernelWriter, type WriteTarget } from '../../src/apply/kernel-writer/kernel-writer.js';
import { O_PATH } from '../../native-bindings/fs-at.js';
import { MockTree, type MockFunction } from '../../src/mock/tree-builder.js';
import { scan } from '../../src/scan/scan.js';
import { runCli } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { smallTree } from '../apply/trees.js';

/**
 * Issue 11, items 1, 2, 4 and 13: writes that left the root through planted links or a directory
 * swapped for a link after the scan, a lock that is a link, and two agents taking over one stale lock.
 * Each ran against the code before the fix and failed there (outside files changed, the secret echoed,
 * both agents holding the lock).
 */
const rp: MockFunction = { bdf: '0000:00:01.0', vendor: 0x8086, device: 0x2030, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port' }, pm: {} };
const ep: MockFunction = { bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, pm: {}, driver: 'e1000e', iommuGroup: 3 };

afterEach(() => {
  vi.restoreAllMocks();
  forceWalk(false);
});

/** Every file under `dir` with its content, to show nothing outside changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out[p] = `-> ${fs.readlinkSync(p)}`;
      else out[p] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

describe('temp and lock files are never created through a planted link (item 1)', () => {
  it('links planted under the report\'s and the lock\'s temp names: nothing outside changes', async () => {
    const outside = tmpDir('pra-outside-');
    fs.writeFileSync(path.join(outside, 'victim-report'), 'untouched\n');
    fs.writeFileSync(path.join(outside, 'victim-lock'), 'untouched\n');
    const dir = smallTree().write(tmpDir('pra-root-'));
    const run = path.join(dir, 'run/pci-reset-agent');
    fs.mkdirSync(run, { recursive: true });
    // The names the agent used to create: report.json.<pid>.tmp and apply.lock.<pid>.<ms>.
    const now = 1_700_000_000_000;
    vi.spyOn(Date, 'now').mockReturnValue(now);
    fs.symlinkSync(path.join(outside, 'victim-report'), path.join(run, `report.json.${process.pid}.tmp`));
    fs.symlinkSync(path.join(outside, 'victim-lock'), path.join(run, `apply.lock.${process.pid}.${now}`));
    const before = snapshot(outside);
    const { code } = await runCli(['apply', '--root', dir, '--json', '--no-registers']);
    expect(snapshot(outside)).toEqual(before);
    expect(code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'report.json'), 'utf8')).exitStatus).toBe(0);
  });
});

describe('every use resolved again: a directory swapped for a link after the scan (item 2)', () => {
  for (const mode of ['openat2', 'openat walk'] as const) {
    it(`a device's parent directory replaced by a link to an outside copy: the raw write is refused (${mode})`, () => {
      forceWalk(mode === 'openat walk');
      const dir = new MockTree().addAll([rp, ep]).write(tmpDir('pra-root-'));
      const outside = tmpDir('pra-outside-');
      const access = new SysfsAccess(new Root(dir));
      const s = scan(access, dir);
      expect(s.devices.map((d) => d.bdf)).toContain('0000:01:00.0');
      // Paused after the scan: the root port's directory (holding the endpoint's) moves out, a link in its place.
      const parent = path.join(dir, 'sys/devices/pci0000:00/0000:00:01.0');
      fs.cpSync(parent, path.join(outside, '0000:00:01.0'), { recursive: true, verbatimSymlinks: true });
      fs.rmSync(parent, { recursive: true });
      fs.symlinkSync(path.join(outside, '0000:00:01.0'), parent);
      const before = snapshot(outside);
      expect(() => access.writeConfigAt('0000:01:00.0', 0x04, 2, 0x0400)).toThrow(/ELOOP|ENOENT/);
      expect(() => access.readConfigAt('0000:01:00.0', 0x04, 2)).toThrow(/ELOOP|ENOENT/);
      expect(() => access.writeAttribute('0000:01:00.0', 'reset', '1')).toThrow(/ELOOP|ENOENT/);
      expect(snapshot(outside)).toEqual(before);
    });
  }

  it('ROOT/run replaced by a link to the outside after a first use: the lock stays inside the root', () => {
    const dir = tmpDir('pra-root-');
    const outside = tmpDir('pra-outside-');
    fs.mkdirSync(path.join(outside, 'run'));
    const root = new Root(dir);
    acquireLock(root).release();
    fs.rmSync(path.join(dir, 'run'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'run'), path.join(dir, 'run'));
    const lock = acquireLock(root);
    try {
      expect(fs.readdirSync(path.join(outside, 'run'))).toEqual([]);
      // The absolute link is re-rooted: ROOT/<outside>/run, as openat2(RESOLVE_IN_ROOT) does.
      expect(fs.existsSync(path.join(dir, outside.slice(1), 'run/pci-reset-agent/apply.lock'))).toBe(true);
    } finally {
      lock.release();
    }
  });
});

/** A root whose run/pci-reset-agent/apply.lock is a symbolic or hard link to a file `name` outside it. */
function lockPlanted(how: 'symlink' | 'hard link', name: string, content: string): { outsideFile: string; dir: string } {
  const outsideFile = path.join(tmpDir('pra-outside-'), name);
  fs.writeFileSync(outsideFile, content);
  const dir = tmpDir('pra-root-');
  fs.mkdirSync(path.join(dir, 'run/pci-reset-agent'), { recursive: true });
  (how === 'symlink' ? fs.symlinkSync : fs.linkSync)(outsideFile, path.join(dir, 'run/pci-reset-agent/apply.lock'));
  return { outsideFile, dir };
}

describe('a lock that is a symbolic link (item 4)', () => {
  it('is never followed nor read, and its target never echoed', () => {
    const { outsideFile: secret, dir } = lockPlanted('symlink', 'shadow', 'root:$6$saltsalt$hash:19000:0:99999:7:::\n');
    const lock = acquireLock(new Root(dir));
    expect(lock.recovered).toBe('a symbolic link in place of the lock, removed (never followed nor read)');
    expect(lock.recovered).not.toMatch(/root|\$6/);
    expect(fs.readFileSync(secret, 'utf8')).toBe('root:$6$saltsalt$hash:19000:0:99999:7:::\n');
    expect(fs.lstatSync(lock.path).isFile()).toBe(true);
    lock.release();
  });
});

describe('a hard link is not written through (items 1 and 4; O_NOFOLLOW and RESOLVE_IN_ROOT do not see one)', () => {
  it('a lock that is a hard link to a file outside: its name dropped, a fresh lock made, the outside file untouched', () => {
    const { outsideFile: victim, dir } = lockPlanted('hard link', 'victim', 'the outside file, never written\n');
    const lock = acquireLock(new Root(dir));
    try {
      expect(lock.recovered).toBe('a file with 2 hard links in place of the lock, removed (never followed nor read)');
      expect(fs.readFileSync(victim, 'utf8')).toBe('the outside file, never written\n');
      expect(fs.statSync(victim).nlink).toBe(1);
      expect(fs.statSync(lock.path).nlink).toBe(1);
      expect(fs.readFileSync(lock.path, 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      lock.release();
    }
  });

  it('a config file or an attribute hard-linked to a file outside the root: the write is refused, naming the file', () => {
    const outside = tmpDir('pra-outside-');
    const dir = new MockTree().addAll([rp, ep]).write(tmpDir('pra-root-'));
    const fnDir = path.join(dir, 'sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0');
    for (const name of ['config', 'reset_method']) {
      const victim = path.join(outside, name);
      fs.copyFileSync(path.join(fnDir, name), victim);
      fs.rmSync(path.join(fnDir, name));
      fs.linkSync(victim, path.join(fnDir, name));
    }
    const before = snapshot(outside);
    const access = new SysfsAccess(new Root(dir));
    expect(() => access.writeConfigAt('0000:01:00.0', 4, 2, 0x400)).toThrow(/config: a file with 2 hard links: another name, maybe outside the root, reaches it; not written through/);
    expect(() => access.writeAttribute('0000:01:00.0', 'reset_method', 'flr')).toThrow(/reset_method: a file with 2 hard links/);
    expect(() => access.openAttributeForWrite('0000:01:00.0', 'reset_method')).toThrow(/hard links/);
    expect(snapshot(outside)).toEqual(before);
    // Reads are not writes: the scan still reads the function.
    expect(access.readConfigAt('0000:01:00.0', 0, 2)).toBe(0x8086);
  });
});

describe('lock takeover is atomic (item 13)', () => {
  function staleRoot(): { root: Root; file: string } {
    const dir = tmpDir('pra-root-');
    fs.mkdirSync(path.join(dir, 'run/pci-reset-agent'), { recursive: true });
    const file = path.join(dir, 'run/pci-reset-agent/apply.lock');
    fs.writeFileSync(file, '999999\n');
    return { root: new Root(dir), file };
  }
  const dead = (): boolean => false;

  for (const phase of ['opened', 'locked', 'checked', 'written'] as const) {
    it(`a second agent arriving while the first is at "${phase}" of taking over a stale lock is refused`, () => {
      const { root } = staleRoot();
      let rival: unknown = null;
      const first = acquireLock(root, {
        alive: dead,
        at: (p) => {
          if (p !== phase || rival !== null) return;
          try {
            const second = acquireLock(new Root(root.dir), { alive: dead });
            rival = second;
            second.release();
          } catch (err) {
            rival = err;
          }
        },
      });
      try {
        if (phase === 'opened') {
          // The first has not flocked yet: the second takes the stale lock and releases it (the file goes);
          // the first's flock then lands on the unlinked file, it sees the name gone and takes a fresh lock.
          expect(rival).not.toBeInstanceOf(Error);
          expect((rival as { recovered: string }).recovered).toBe('stale lock of pid 999999 (not running) taken over');
          expect(first.recovered).toBeNull();
        } else {
          expect(rival).toBeInstanceOf(LockHeld);
          expect(first.recovered).toBe('stale lock of pid 999999 (not running) taken over');
        }
        expect(fs.readFileSync(first.path, 'utf8')).toBe(`${process.pid}\n`);
      } finally {
        first.release();
      }
    });
  }

  it('a holder that releases between a rival\'s open and its flock: the rival sees the name changed and takes a fresh lock', () => {
    const { root, file } = staleRoot();
    const holder = acquireLock(root, { alive: dead });
    let released = false;
    const rival = acquireLock(new Root(root.dir), {
      alive: dead,
      at: (p) => {
        if (p === 'opened' && !released) {
          released = true;
          holder.release();
        }
      },
    });
    try {
      expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
      expect(rival.recovered).toBeNull();
    } finally {
      rival.release();
    }
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a delay injected between the stale check and the takeover does not let two agents hold it', () => {
    const { root } = staleRoot();
    const holders: string[] = [];
    const errors: string[] = [];
    const take = (name: string, inject?: () => void): ReturnType<typeof acquireLock> | null => {
      try {
        const l = acquireLock(new Root(root.dir), { alive: dead, at: (p) => p === 'checked' && inject?.() });
        holders.push(name);
        return l;
      } catch (err) {
        errors.push(`${name}: ${(err as Error).name}`);
        return null;
      }
    };
    const rivals: (ReturnType<typeof acquireLock> | null)[] = [];
    const a = take('a', () => {
      // 400 ms inside the takeover (as the delayed unlink), a rival trying all along.
      const until = performance.now() + 400;
      while (performance.now() < until && rivals.length < 50) rivals.push(take('b'));
    });
    expect(holders).toEqual(['a']);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['b: LockHeld']));
    a?.release();
    for (const r of rivals) r?.release();
  });
});

/**
 * The last two opens by host path after a check through the root (issue 11 item 2, what was left): the
 * helper process reopened `reset` by its path, and /dev/mem was opened by its resolved path. Both now
 * open the very file checked (the helper through /proc/AGENT/fd/N, the agent through /proc/self/fd/N).
 * Before: the write went to the outside copy, the read to the outside file.
 */
describe('no open by path after the check', () => {
  it('a kernel write: the parent directory swapped for a link between the check and the helper\'s open reaches the checked file only', async () => {
    const dir = new MockTree().addAll([rp, ep]).write(tmpDir('pra-root-'));
    const outside = tmpDir('pra-outside-');
    const access = new SysfsAccess(new Root(dir));
    scan(access, dir);
    const parent = path.join(dir, 'sys/devices/pci0000:00/0000:00:01.0');
    const real = new KernelWriter();
    let before: Record<string, string> = {};
    try {
      access.kernelWriter = {
        write(t: WriteTarget, value: string): Promise<void> {
          // Checked and held; now, before the helper opens anything, the tree changes under it.
          fs.cpSync(parent, path.join(outside, 'copy'), { recursive: true, verbatimSymlinks: true });
          fs.renameSync(parent, path.join(dir, 'moved-away'));
          fs.symlinkSync(path.join(outside, 'copy'), parent);
          before = snapshot(outside);
          return real.write(t, value);
        },
      };
      await access.writeAttributeAsync('0000:01:00.0', 'reset', '1');
      expect(snapshot(outside)).toEqual(before);
      expect(fs.readFileSync(path.join(dir, 'moved-away/0000:01:00.0/reset'), 'utf8')).toBe('1');
    } finally {
      real.close();
    }
  });

  it('Root.reopen (dev/mem): opens the file checked through the root, not what its name leads to now', () => {
    const dir = tmpDir('pra-root-');
    const outside = tmpDir('pra-outside-');
    fs.mkdirSync(path.join(dir, 'dev'));
    fs.writeFileSync(path.join(dir, 'dev/mem'), 'checked');
    fs.writeFileSync(path.join(outside, 'mem'), 'outside');
    const root = new Root(dir);
    const pathFd = root.open('dev/mem', { flags: O_PATH });
    try {
      fs.renameSync(path.join(dir, 'dev'), path.join(dir, 'dev-moved'));
      fs.symlinkSync(outside, path.join(dir, 'dev'));
      const fd = root.reopen(pathFd, fs.constants.O_RDONLY, root.lexical('dev/mem'));
      try {
        expect(fs.readFileSync(fd, 'utf8')).toBe('checked');
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      fs.closeSync(pathFd);
    }
  });
});
