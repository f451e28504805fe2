import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { SysfsAccess } from '../../src/access/sysfs.js';
import { generatedTree } from '../../src/mock/examples/generated.js';
import { serverTree } from '../../src/mock/examples/server.js';
import { scan, scanStream } from '../../src/scan/scan.js';
import { writeScanJson } from '../../src/scan/write-json.js';
import { tmpDir } from '../helpers/tmp-root.js';

function json(doc: Parameters<typeof writeScanJson>[0]): string {
  let out = '';
  writeScanJson(doc, (c) => (out += c));
  return out;
}

describe('scan --json streams the same document scan() builds', () => {
  for (const [name, tree] of [
    ['server', serverTree()],
    ['generated:700', generatedTree(700)],
  ] as const) {
    it(`${name}: byte for byte, and valid JSON`, () => {
      const dir = tree.write(tmpDir());
      const whole = json(scan(new SysfsAccess(new Root(dir)), dir));
      const streamed = json(scanStream(new SysfsAccess(new Root(dir)), dir));
      expect(streamed).toBe(whole);
      const parsed = JSON.parse(streamed) as { devices: unknown[] };
      expect(parsed.devices.length).toBe(tree.functions.length);
    });
  }

  it('devices() can be consumed more than once', () => {
    const dir = serverTree().write(tmpDir());
    const s = scanStream(new SysfsAccess(new Root(dir)), dir);
    expect([...s.devices()]).toEqual([...s.devices()]);
  });
});
