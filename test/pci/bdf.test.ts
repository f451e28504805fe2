import { describe, expect, it } from 'vitest';
import { bdfSortKey, canonicalBdf, compareBdf, formatBdf, parseBdf, sortBdfs } from '../../src/pci/bdf.js';
import { Prng } from '../fuzz/prng.js';

describe('canonicalBdf', () => {
  it('returns canonical input unchanged', () => {
    for (const bdf of ['0000:00:00.0', '0000:00:1f.7', '0000:ff:1f.7', 'ffff:0a:10.3', '0001:3b:00.1']) {
      expect(canonicalBdf(bdf)).toBe(bdf);
    }
  });

  it('lowercases hex digits in every field', () => {
    expect(canonicalBdf('0000:0A:1F.7')).toBe('0000:0a:1f.7');
    expect(canonicalBdf('ABCD:EF:0C.2')).toBe('abcd:ef:0c.2');
    expect(canonicalBdf('0000:00:1F.0')).toBe('0000:00:1f.0');
  });

  it('keeps wide (5 to 8 digit) domains whole, as VMD names them', () => {
    expect(canonicalBdf('10000:00:00.0')).toBe('10000:00:00.0');
    expect(canonicalBdf('10000:E1:00.0')).toBe('10000:e1:00.0');
    expect(canonicalBdf('1234567:00:01.0')).toBe('1234567:00:01.0');
    expect(canonicalBdf('FFFFFFFF:ff:1f.7')).toBe('ffffffff:ff:1f.7');
  });

  it('drops leading zeros of a wide-written domain down to four digits', () => {
    expect(canonicalBdf('00000:00:00.0')).toBe('0000:00:00.0');
    expect(canonicalBdf('0000000a:01:02.3')).toBe('000a:01:02.3');
    expect(canonicalBdf('00010000:00:00.0')).toBe('10000:00:00.0');
  });

  it('is null for anything that is not a BDF', () => {
    for (const bad of [
      '0000:00:20.0', // device 0x20: only 5 bits
      '0000:00:1f.8', // function 8: only 3 bits
      '0000:00:00.9',
      '000:00:00.0', // domain too short
      '123456789:00:00.0', // domain too long
      '0000:0:00.0',
      '0000:000:00.0',
      '0000:00:0.0',
      '0000:00:00',
      '0000:00:00.0 ',
      ' 0000:00:00.0',
      '0000:00:00.0\n',
      '0000-00-00.0',
      '0000:0g:00.0',
      'not-a-device',
      '',
      'pci0000:00',
    ]) {
      expect(canonicalBdf(bad), bad).toBeNull();
    }
  });

  it('agrees with formatBdf(parseBdf(x)) on every accepted spelling', () => {
    const rng = new Prng(0xb0f);
    const hexDigits = '0123456789abcdefABCDEF';
    for (let i = 0; i < 500; i++) {
      const width = 4 + rng.int(5);
      let domain = '';
      for (let d = 0; d < width; d++) domain += rng.pick([...hexDigits]);
      const bus = rng.pick([...hexDigits]) + rng.pick([...hexDigits]);
      const dev = rng.pick(['0', '1']) + rng.pick([...hexDigits]);
      const text = `${domain}:${bus}:${dev}.${rng.int(8)}`;
      const parsed = parseBdf(text);
      expect(parsed, text).not.toBeNull();
      expect(canonicalBdf(text), text).toBe(formatBdf(parsed!));
    }
  });
});

describe('bdfSortKey and sortBdfs', () => {
  it('orders by domain, bus, device, function numerically, not by text', () => {
    expect(sortBdfs(['10000:00:00.0', '0000:01:00.0', 'ffff:00:00.0', '0000:00:1f.7', '0000:00:02.0', '0000:00:00.1'])).toEqual([
      '0000:00:00.1',
      '0000:00:02.0',
      '0000:00:1f.7',
      '0000:01:00.0',
      'ffff:00:00.0',
      '10000:00:00.0',
    ]);
  });

  it('keys the widest domain exactly (below 2^48)', () => {
    expect(bdfSortKey('ffffffff:ff:1f.7')).toBe(2 ** 48 - 1);
    expect(bdfSortKey('ffffffff:ff:1f.6')).toBe(2 ** 48 - 2);
    expect(bdfSortKey('0000:00:00.0')).toBe(0);
    expect(bdfSortKey('not-a-device')).toBe(-1);
  });

  it('does not modify its argument', () => {
    const input = ['0000:01:00.0', '0000:00:00.0'];
    expect(sortBdfs(input)).toEqual(['0000:00:00.0', '0000:01:00.0']);
    expect(input).toEqual(['0000:01:00.0', '0000:00:00.0']);
  });

  it('gives exactly the order compareBdf gives, for random canonical BDFs including wide domains', () => {
    const rng = new Prng(0x5eed);
    // Few distinct values per field, so ties in one field and duplicates are common.
    const domains = [0, 1, 0xffff, 0x10000, 0x10001, 0xabcdef, 0xffffffff];
    for (let round = 0; round < 300; round++) {
      const n = rng.int(40);
      const bdfs: string[] = [];
      for (let i = 0; i < n; i++) {
        bdfs.push(
          formatBdf({
            domain: rng.next() < 0.8 ? rng.pick(domains) : rng.int(0x100000000),
            bus: rng.pick([0, 1, 0x10, 0xff, rng.int(256)]),
            dev: rng.pick([0, 1, 0x1f, rng.int(32)]),
            fn: rng.int(8),
          }),
        );
      }
      expect(sortBdfs(bdfs)).toEqual([...bdfs].sort(compareBdf));
    }
  });
});
