import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { AccessError } from '../../src/access/access-error.js';
import { tmpDir } from '../helpers/tmp-root.js';

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
