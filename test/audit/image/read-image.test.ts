import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CpioReader, type CpioEntry } from '../../../src/audit/image/cpio.js';
import { detectCompression } from '../../../src/audit/image/decompress.js';
import { ImageError } from '../../../src/audit/image/image-error.js';
import { readImage, readImageFile } from '../../../src/audit/image/read-image.js';
import { concat, newcArchive, storedGzip, withParents } from '../../../src/mock/kdump-image.js';
import { tmpDir } from '../../helpers/tmp-root.js';
import { hasTool } from '../../helpers/has-tool.js';

const MICROCODE = newcArchive(withParents([{ name: 'kernel/x86/microcode/GenuineIntel.bin', data: 'ucode'.repeat(100) }]));
const MAIN = newcArchive(
  withParents([
    { name: 'usr/lib/modules/6.12.0-1-amd64/modules.alias', data: 'alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n' },
    { name: 'usr/lib/modules/6.12.0-1-amd64/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst', data: new Uint8Array(5000).fill(7) },
    { name: 'lib', target: 'usr/lib' },
    { name: 'init', data: '#!/bin/sh\n', mode: 0o755 },
  ]),
);


/** Compress with the real tool, with the options the distributions' image builders use. */
function compressWith(tool: 'xz' | 'zstd', data: Uint8Array): Uint8Array {
  // initramfs-tools and dracut: `xz --check=crc32` (the kernel's xz decoder has no SHA-256), `zstd -q -19`-like.
  const args = tool === 'xz' ? ['--check=crc32', '-c'] : ['-q', '-c', '-10'];
  return execFileSync(tool, args, { input: data, maxBuffer: 64 * 1024 * 1024 });
}

const wantAlias = (e: CpioEntry): boolean => e.name.endsWith('modules.alias');

async function check(image: Uint8Array, compression: string): Promise<void> {
  const r = await readImage(image, { label: 'img', want: wantAlias });
  expect(r.segments.map((s) => s.compression)).toEqual(['none', compression]);
  expect(r.segments[0]!.archives).toBe(1);
  expect(r.segments[1]!.unpackedBytes).toBe(MAIN.byteLength);
  const names = r.entries.map((e) => e.name);
  expect(names).toContain('kernel/x86/microcode/GenuineIntel.bin');
  expect(names).toContain('usr/lib/modules/6.12.0-1-amd64/kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.zst');
  expect(r.entries.find((e) => e.name === 'lib')!.kind).toBe('symlink');
  expect(r.files.get('usr/lib/modules/6.12.0-1-amd64/modules.alias')!.toString()).toContain('e1000e');
  expect(r.files.size).toBe(1);
}

describe('kdump image reader', () => {
  it('reads a plain cpio image', async () => {
    const r = await readImage(MAIN, { label: 'img', want: wantAlias });
    expect(r.segments).toHaveLength(1);
    expect(r.segments[0]!.compression).toBe('none');
    expect(r.files.size).toBe(1);
  });

  it('microcode cpio + gzip (node:zlib output and the stored-block writer)', async () => {
    await check(concat([MICROCODE, zlib.gzipSync(MAIN)]), 'gzip');
    await check(concat([MICROCODE, storedGzip(MAIN)]), 'gzip');
  });

  it.skipIf(!hasTool('xz'))('microcode cpio + xz (real xz --check=crc32)', async () => {
    await check(concat([MICROCODE, compressWith('xz', MAIN)]), 'xz');
  });

  it.skipIf(!hasTool('zstd'))('microcode cpio + zstd (real zstd)', async () => {
    await check(concat([MICROCODE, compressWith('zstd', MAIN)]), 'zstd');
  });

  it('skips NUL padding between the pieces, as unpack_to_rootfs() does', async () => {
    await check(concat([MICROCODE, new Uint8Array(512), storedGzip(MAIN)]), 'gzip');
  });

  it('several archives inside one compressed stream', async () => {
    const second = newcArchive([{ name: 'etc/extra', data: 'x' }]);
    const r = await readImage(concat([MICROCODE, zlib.gzipSync(concat([MAIN, new Uint8Array(8), second]))]), { label: 'img' });
    expect(r.segments[1]!.archives).toBe(2);
    expect(r.entries.map((e) => e.name)).toContain('etc/extra');
  });

  it('reads a file from disk', async () => {
    const dir = tmpDir();
    const p = path.join(dir, 'initrd.img');
    fs.writeFileSync(p, concat([MICROCODE, storedGzip(MAIN)]));
    const r = await readImageFile(p, { label: 'initrd.img', want: wantAlias });
    expect(r.files.size).toBe(1);
    await expect(readImageFile(path.join(dir, 'none'), { label: 'none' })).rejects.toThrow('none: does not exist');
    await expect(readImageFile(dir, { label: 'dir' })).rejects.toThrow('dir: not a regular file');
  });

  it('xz-decompress under Node\'s own ESM loader (the tsc build): named export only through default', () => {
    // decompress.ts takes `XzReadableStream ?? default.XzReadableStream`; vitest and esbuild give the
    // named export, plain node does not (a webpack UMD module), which broke `npm start -- audit` once.
    const script = "const m = await import('xz-decompress'); const X = m.XzReadableStream ?? m.default.XzReadableStream; process.stdout.write(typeof X + ' ' + typeof m.XzReadableStream);";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.resolve(__dirname, '../../..'), encoding: 'utf8' });
    expect(out.split(' ')[0]).toBe('function');
  });

  it('recognises the kernel\'s compressions by magic', () => {
    expect(detectCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(detectCompression(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe('xz');
    expect(detectCompression(Uint8Array.from([0x1f, 0x8b]))).toBe('gzip');
    expect(detectCompression(Uint8Array.from([0x02, 0x21, 0x4c, 0x18]))).toBe('lz4');
    expect(detectCompression(Uint8Array.from([0x30, 0x37]))).toBeNull();
  });
});

describe('kdump image reader on hostile input', () => {
  const fails = async (bytes: Uint8Array, message: string | RegExp): Promise<void> => {
    const p = readImage(bytes, { label: 'bad.img' });
    await expect(p).rejects.toBeInstanceOf(ImageError);
    await expect(readImage(bytes, { label: 'bad.img' })).rejects.toThrow(message);
  };

  it('names the file and offset of junk', async () => {
    await fails(concat([MICROCODE, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])]), `bad.img: offset ${MICROCODE.byteLength}: neither a cpio archive nor a known compression (bytes 0102030405060708)`);
  });

  it('an unsupported compression is named', async () => {
    await fails(concat([MICROCODE, Uint8Array.from([0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0])]), /lz4 compression is not supported/);
  });

  it('damaged compressed data is an error naming the stream', async () => {
    const gz = zlib.gzipSync(MAIN);
    gz[gz.byteLength - 20] ^= 0xff;
    gz[40] ^= 0xff;
    await fails(concat([MICROCODE, gz]), new RegExp(`bad.img: gzip stream at offset ${MICROCODE.byteLength}`));
  });

  for (const tool of ['xz', 'zstd'] as const) {
    it.skipIf(!hasTool(tool))(`damaged or cut ${tool} data is an ImageError naming the stream`, async () => {
      const packed = compressWith(tool, MAIN);
      let seed = 99;
      const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      for (let i = 0; i < 40; i++) {
        const b = Uint8Array.from(packed);
        b[8 + Math.floor(rnd() * (b.byteLength - 8))] ^= 1 + Math.floor(rnd() * 255);
        const cut = i % 4 === 0 ? b.subarray(0, Math.floor(b.byteLength / 2)) : b;
        try {
          await readImage(concat([MICROCODE, cut]), { label: 'bad.img' });
        } catch (err) {
          expect(err).toBeInstanceOf(ImageError);
          expect((err as Error).message).toMatch(new RegExp(`^bad.img: ${tool} stream at offset ${MICROCODE.byteLength}`));
        }
      }
    });
  }

  it('a truncated archive, a bad header field, an oversized name', async () => {
    await fails(MAIN.subarray(0, MAIN.byteLength - 60), /truncated|no TRAILER/);
    const badField = Uint8Array.from(MAIN);
    badField.set(new TextEncoder().encode('zzzzzzzz'), 6 + 8 * 6);
    await fails(badField, 'bad.img: offset 0: header field 6 is not 8 hex digits: "zzzzzzzz"');
    const longName = Uint8Array.from(MAIN);
    longName.set(new TextEncoder().encode('00100000'), 6 + 8 * 11);
    await fails(longName, /offset 0: name of 1048576 bytes is longer than 4096/);
    const badMagic = Uint8Array.from(MAIN);
    badMagic.set(new TextEncoder().encode('070707'), 0);
    await fails(badMagic, 'bad.img: offset 0: not a newc cpio header (magic "070707", expected 070701 or 070702)');
  });

  it('a gzip bomb stops at the unpacked limit', async () => {
    const bomb = zlib.gzipSync(new Uint8Array(16 * 1024 * 1024));
    await expect(readImage(bomb, { label: 'bomb.img', maxUnpackedBytes: 4 * 1024 * 1024 })).rejects.toThrow(/unpacks to more than 4194304 bytes/);
  });

  it('entry and collect caps hold', async () => {
    await expect(readImage(MAIN, { label: 'img', limits: { maxEntries: 3 } })).rejects.toThrow(/more than 3 entries/);
    await expect(readImage(MAIN, { label: 'img', want: () => true, limits: { maxCollectBytes: 100 } })).rejects.toThrow(/e1000e.ko.zst: 5000 bytes, more than the 100/);
  });

  it('random garbage never throws anything but an ImageError', async () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const base = concat([MICROCODE, zlib.gzipSync(MAIN)]);
    for (let i = 0; i < 200; i++) {
      const b = Uint8Array.from(base);
      for (let k = 0; k < 1 + Math.floor(rnd() * 8); k++) b[Math.floor(rnd() * b.byteLength)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.3 ? b.subarray(0, Math.floor(rnd() * b.byteLength)) : b;
      try {
        await readImage(cut, { label: 'fuzz' });
      } catch (err) {
        expect(err).toBeInstanceOf(ImageError);
      }
    }
  });

  it('pushes of any size give the same entries', () => {
    const seen = (step: number): string[] => {
      const names: string[] = [];
      const r = new CpioReader('x', { onEntry: (e) => (names.push(`${e.name}@${e.offset}`), false) });
      for (let i = 0; i < MAIN.byteLength; i += step) r.push(MAIN.subarray(i, i + step));
      r.end();
      return names;
    };
    const whole = seen(MAIN.byteLength);
    for (const step of [1, 3, 7, 110, 111, 4096]) expect(seen(step)).toEqual(whole);
  });
});
