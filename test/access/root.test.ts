import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { AccessError } from '../../src/access/access-error.js';
import { tmpDir } from '../helpers/tmp-root.js';
import { Prng } from '../fuzz/prng.js';

function tree(): { dir: string; outside: string } {
  const outside = tmpDir('pra-outside-');
  fs.writeFileSync(path.join(outside, 'secret'), 'host file\n');
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a/b/file'), 'inside\n');
  fs.writeFileSync(path.join(dir, 'secret'), 'root secret\n');
  return { dir, outside };
}

describe('Root: every path stays inside the root', () => {
  it('reads plain files and relative links', () => {
    const { dir } = tree();
    fs.symlinkSync('a/b', path.join(dir, 'rel'));
    const root = new Root(dir);
    expect(root.readText('rel/file')).toBe('inside\n');
    expect(root.readLink('rel')).toBe('a/b');
    expect(root.canonical('/rel/file')).toBe('a/b/file');
  });

  it('re-roots an absolute link target instead of leaving the tree', () => {
    const { dir, outside } = tree();
    fs.symlinkSync(path.join(outside, 'secret'), path.join(dir, 'abs'));
    const root = new Root(dir);
    // The link names a host path; inside the root that path does not exist.
    expect(root.readText('abs')).toBeNull();
    fs.symlinkSync('/secret', path.join(dir, 'abs2'));
    expect(root.readText('abs2')).toBe('root secret\n');
  });

  it('clamps .. at the root, in paths and in link targets', () => {
    const { dir } = tree();
    fs.symlinkSync('../../../../../../secret', path.join(dir, 'a/b/up'));
    const root = new Root(dir);
    expect(root.readText('a/b/up')).toBe('root secret\n');
    expect(root.readText('../../../../secret')).toBe('root secret\n');
    expect(root.resolve('../..')).toBe(fs.realpathSync(dir));
  });

  it('reports a link loop as ELOOP, not a hang', () => {
    const { dir } = tree();
    fs.symlinkSync('loop2', path.join(dir, 'loop1'));
    fs.symlinkSync('loop1', path.join(dir, 'loop2'));
    const root = new Root(dir);
    expect(() => root.readFile('loop1')).toThrowError(AccessError);
    try {
      root.readFile('loop1');
    } catch (e) {
      expect((e as AccessError).code).toBe('ELOOP');
    }
  });

  it('an intermediate directory link is followed inside the root only', () => {
    const { dir, outside } = tree();
    fs.mkdirSync(path.join(dir, 'sys'));
    fs.symlinkSync(outside, path.join(dir, 'sys/devices'));
    const root = new Root(dir);
    expect(root.readText('sys/devices/secret')).toBeNull();
  });

  it('names the path when the root does not exist', () => {
    expect(() => new Root('/nonexistent/pra-root')).toThrow(/nonexistent\/pra-root.*ENOENT/);
  });
});

/** What joinLexical promises, written the slow, obvious way: `..` never climbs above the root, `/` restarts there. */
function referenceJoin(dirCanon: string, target: string): string {
  const out: string[] = [];
  const walk = (p: string): void => {
    for (const part of p.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') out.pop();
      else out.push(part);
    }
  };
  if (!target.startsWith('/')) walk(dirCanon);
  walk(target);
  return out.join('/');
}

describe('Root: string fast paths give the same answers as the general ones', () => {
  const names = ['a', 'b', 'pci0000:00', '0000:00:01.0', '...', '.hidden', 'x..y'];
  const parts = [...names, '..', '.', ''];

  /** A canonical directory (names only), sometimes spelled with a leading, trailing or doubled slash. */
  function randomDir(rng: Prng): string {
    const comps = Array.from({ length: rng.int(6) }, () => rng.pick(names));
    let s = comps.join(rng.next() < 0.1 ? '//' : '/');
    if (rng.next() < 0.1) s = `/${s}`;
    if (rng.next() < 0.1) s = `${s}/`;
    return s;
  }

  /** A link target: half of them the sysfs shape `../../x/y`, the rest any mix of components. */
  function randomTarget(rng: Prng): string {
    let s: string;
    if (rng.next() < 0.5) {
      s = '../'.repeat(rng.int(8)) + Array.from({ length: rng.int(4) }, () => rng.pick(names)).join('/');
    } else {
      s = Array.from({ length: rng.int(7) }, () => rng.pick(parts)).join('/');
    }
    if (rng.next() < 0.2) s = `/${s}`;
    if (rng.next() < 0.15) s = `${s}/`;
    if (rng.next() < 0.1) s = s.replace('/', '//');
    return s;
  }

  it('joinLexical equals the reference join for random directories and targets', () => {
    const root = new Root(tmpDir());
    const rng = new Prng(0x10c);
    for (let i = 0; i < 5000; i++) {
      const dir = randomDir(rng);
      const target = randomTarget(rng);
      expect(root.joinLexical(dir, target), `joinLexical(${JSON.stringify(dir)}, ${JSON.stringify(target)})`).toBe(referenceJoin(dir, target));
    }
  });

  it('joinLexical on the edge shapes of the fast path', () => {
    const root = new Root(tmpDir());
    const cases: [string, string, string][] = [
      ['sys/bus/pci/devices', '../../../devices/pci0000:00/0000:00:01.0', 'sys/devices/pci0000:00/0000:00:01.0'],
      ['sys/devices/pci0000:00/0000:00:01.0', '../../../bus/pci/drivers/nvme', 'sys/bus/pci/drivers/nvme'],
      ['a/b', '../../../../../x', 'x'],
      ['a/b', '../', 'a'],
      ['a/b', '../..', ''],
      ['a/b', '..', 'a'],
      ['a/b', '', 'a/b'],
      ['', '../x', 'x'],
      ['', '', ''],
      ['a/b', '../.../c', 'a/.../c'],
      ['a/b', '../c/..', 'a'],
      ['a/b', '../c/../d', 'a/d'],
      ['a/b', '.././c', 'a/c'],
      ['a/b', '..//c', 'a/c'],
      ['a/b', '/../c', 'c'],
      ['a/b', '/x/y', 'x/y'],
      ['a/b', '../x/', 'a/x'],
      ['/a/b', '../x', 'a/x'],
      ['a//b', '../x', 'a/x'],
      ['a/b/', '../x', 'a/x'],
    ];
    for (const [dir, target, want] of cases) {
      expect(root.joinLexical(dir, target), `${dir} + ${target}`).toBe(want);
      expect(referenceJoin(dir, target)).toBe(want);
    }
  });
});

describe('Root: the plain-path fast path of canonical() stays inside the root', () => {
  const fnPath = 'sys/devices/pci0000:00/0000:00:01.0';

  /** A root with sys/devices/pci0000:00/0000:00:01.0/config, and a host directory outside it with the same shape. */
  function sysTree(): { dir: string; outside: string } {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, fnPath), { recursive: true });
    fs.writeFileSync(path.join(dir, fnPath, 'config'), 'in-root config\n');
    const outside = tmpDir('pra-outside-');
    fs.mkdirSync(path.join(outside, '0000:00:01.0'), { recursive: true });
    fs.writeFileSync(path.join(outside, '0000:00:01.0/config'), 'HOST config\n');
    return { dir, outside };
  }

  function insideRoot(root: Root, rel: string): void {
    const host = root.resolve(rel);
    expect(host === root.dir || host.startsWith(`${root.dir}/`), `${rel} -> ${host}`).toBe(true);
  }

  it('a real directory first, then (fresh Root) a link to an absolute host directory: re-rooted, never the host', () => {
    const { dir, outside } = sysTree();
    const first = new Root(dir);
    expect(first.canonical(`${fnPath}/config`)).toBe(`${fnPath}/config`);
    expect(first.readText(`${fnPath}/config`)).toBe('in-root config\n');

    fs.rmSync(path.join(dir, 'sys/devices/pci0000:00'), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, 'sys/devices/pci0000:00'));
    const root = new Root(dir);
    const canon = root.canonical(`${fnPath}/config`);
    // The link's text is the host path; inside the root it names the same path below the root.
    const reRooted = `${outside.slice(1)}/0000:00:01.0/config`;
    expect(canon).toBe(reRooted);
    insideRoot(root, `${fnPath}/config`);
    expect(root.readText(`${fnPath}/config`)).toBeNull();
    expect(root.exists(`${fnPath}/config`)).toBe(false);
    expect(root.list(fnPath)).toEqual([]);

    // The same host path recreated inside the root is what the link reads.
    fs.mkdirSync(path.join(dir, path.dirname(reRooted)), { recursive: true });
    fs.writeFileSync(path.join(dir, reRooted), 'in-root copy\n');
    const again = new Root(dir);
    expect(again.readText(`${fnPath}/config`)).toBe('in-root copy\n');
    insideRoot(again, `${fnPath}/config`);
  });

  it('a real directory first, then (fresh Root) a relative link climbing out: clamped at the root', () => {
    const { dir, outside } = sysTree();
    const first = new Root(dir);
    expect(first.canonical(`${fnPath}/config`)).toBe(`${fnPath}/config`);

    fs.rmSync(path.join(dir, 'sys/devices/pci0000:00'), { recursive: true });
    // As many ../ as it takes to reach the host's /, then the outside directory's host path.
    const climb = `${'../'.repeat(40)}${outside.slice(1)}`;
    fs.symlinkSync(climb, path.join(dir, 'sys/devices/pci0000:00'));
    const root = new Root(dir);
    expect(root.canonical(`${fnPath}/config`)).toBe(`${outside.slice(1)}/0000:00:01.0/config`);
    insideRoot(root, `${fnPath}/config`);
    expect(root.readText(`${fnPath}/config`)).toBeNull();
  });

  it('a link deeper down (the function directory itself) is followed inside the root only', () => {
    const { dir, outside } = sysTree();
    const root = new Root(dir);
    // Cache sys/devices/pci0000:00 as a plain directory through a sibling.
    fs.mkdirSync(path.join(dir, 'sys/devices/pci0000:00/0000:00:02.0'));
    fs.writeFileSync(path.join(dir, 'sys/devices/pci0000:00/0000:00:02.0/config'), 'sibling\n');
    expect(root.canonical('sys/devices/pci0000:00/0000:00:02.0/config')).toBe('sys/devices/pci0000:00/0000:00:02.0/config');

    fs.rmSync(path.join(dir, fnPath), { recursive: true });
    fs.symlinkSync(path.join(outside, '0000:00:01.0'), path.join(dir, fnPath));
    expect(root.readText(`${fnPath}/config`)).toBeNull();
    insideRoot(root, `${fnPath}/config`);
    expect(root.readText('sys/devices/pci0000:00/0000:00:02.0/config')).toBe('sibling\n');
  });

  it('after forget(), a directory replaced by a link is looked at again and followed inside the root', () => {
    const dir = tmpDir();
    for (const d of ['real', 'other']) {
      fs.mkdirSync(path.join(dir, 'sys/devices', d, 'x'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'sys/devices', d, 'x/file'), `${d}\n`);
    }
    const root = new Root(dir);
    expect(root.canonical('sys/devices/real/x/file')).toBe('sys/devices/real/x/file');
    expect(root.isDirectory('sys/devices/real/x')).toBe(true);

    fs.rmSync(path.join(dir, 'sys/devices/real'), { recursive: true });
    fs.symlinkSync('other', path.join(dir, 'sys/devices/real'));
    root.forget();
    expect(root.canonical('sys/devices/real/x/file')).toBe('sys/devices/other/x/file');
    expect(root.canonical('sys/devices/real/x')).toBe('sys/devices/other/x');
    expect(root.readText('sys/devices/real/x/file')).toBe('other\n');

    // And once more with an absolute target, which restarts at the root.
    fs.rmSync(path.join(dir, 'sys/devices/real'));
    fs.mkdirSync(path.join(dir, 'sys/devices/real/x'), { recursive: true });
    root.forget();
    expect(root.canonical('sys/devices/real/x/file')).toBe('sys/devices/real/x/file');
    fs.rmSync(path.join(dir, 'sys/devices/real'), { recursive: true });
    fs.symlinkSync('/sys/devices/other', path.join(dir, 'sys/devices/real'));
    root.forget();
    expect(root.canonical('sys/devices/real/x/file')).toBe('sys/devices/other/x/file');
    expect(root.readText('sys/devices/real/x/file')).toBe('other\n');
  });

  it('a plain path whose last component is a link still follows it (relative, absolute re-rooted, chained)', () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'a/b/sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a/b/file'), 'file\n');
    fs.writeFileSync(path.join(dir, 'a/b/sub/deep'), 'deep\n');
    fs.symlinkSync('file', path.join(dir, 'a/b/rel'));
    fs.symlinkSync('../b/./file', path.join(dir, 'a/b/relup'));
    fs.symlinkSync('/a/b/file', path.join(dir, 'a/b/abs'));
    fs.symlinkSync('rel', path.join(dir, 'a/b/chain'));
    fs.symlinkSync('sub', path.join(dir, 'a/b/dirlink'));
    fs.symlinkSync('../../../../../a/b/file', path.join(dir, 'a/b/climb'));
    const outside = tmpDir('pra-outside-');
    fs.writeFileSync(path.join(outside, 'secret'), 'HOST\n');
    fs.symlinkSync(path.join(outside, 'secret'), path.join(dir, 'a/b/host'));

    const root = new Root(dir);
    // a/b becomes a known plain directory first, so every lookup below takes the fast path's entry test.
    expect(root.canonical('a/b/file')).toBe('a/b/file');
    expect(root.canonical('a/b/rel')).toBe('a/b/file');
    expect(root.canonical('a/b/relup')).toBe('a/b/file');
    expect(root.canonical('a/b/abs')).toBe('a/b/file');
    expect(root.canonical('a/b/chain')).toBe('a/b/file');
    expect(root.canonical('a/b/climb')).toBe('a/b/file');
    expect(root.canonical('a/b/dirlink')).toBe('a/b/sub');
    expect(root.canonical('a/b/dirlink/deep')).toBe('a/b/sub/deep');
    expect(root.canonical('a/b/host')).toBe(`${outside.slice(1)}/secret`);
    expect(root.readText('a/b/host')).toBeNull();
    for (const name of ['rel', 'relup', 'abs', 'chain', 'climb']) expect(root.readText(`a/b/${name}`), name).toBe('file\n');
    // lstat semantics keep the link itself.
    expect(root.canonical('a/b/rel', false)).toBe('a/b/rel');
    expect(root.canonical('a/b/abs', false)).toBe('a/b/abs');
  });

  it('canonical() answers the same on plain and non-plain spellings of one path', () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'a/b/c'), { recursive: true });
    fs.symlinkSync('c', path.join(dir, 'a/b/l'));
    const root = new Root(dir);
    for (const p of ['a/b/c', 'a/b/l', 'a/b/missing', 'a/b', 'a']) {
      const want = root.canonical(p);
      for (const spelled of [`/${p}`, `${p}/`, p.replace('/', '//'), `./${p}`, `${p}/.`, `a/../${p}`]) {
        expect(root.canonical(spelled), spelled).toBe(want);
        expect(new Root(dir).canonical(spelled), `fresh ${spelled}`).toBe(want);
      }
    }
  });
});

describe('Root: very deep paths', () => {
  it('a path of 20,000 components is an AccessError from the file system, not a stack overflow', () => {
    const root = new Root(tmpDir());
    let caught: unknown;
    try {
      root.canonical(`${'a/'.repeat(20000)}x`);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AccessError);
    expect((caught as AccessError).code).toBe('ENAMETOOLONG');
  });
});
