import { Prng } from '../fuzz/prng.js';
import { describe, expect, it } from 'vitest';
import { formatActions, formatMatch, parseQuirks, QuirkSyntaxError } from '../../src/quirks/parse.js';

const one = (text: string) => {
  const r = parseQuirks(text, 't.quirks');
  expect(r.entries).toHaveLength(1);
  return r.entries[0]!;
};

describe('quirk table syntax: what parses', () => {
  const cases: [string, string, (e: ReturnType<typeof one>) => void][] = [
    ['vendor:device and a flag', '168c:003e no_bus reason="x"', (e) => {
      expect(e.match).toMatchObject({ vendor: 0x168c, deviceLo: 0x3e, deviceHi: 0x3e });
      expect(e.noBus).toBe(true);
    }],
    ['any device', '10de:* d3hot=20ms reason="x"', (e) => expect(e.match.deviceLo).toBeNull()],
    ['device range', '10de:2340-237F no_bus reason="x"', (e) => expect([e.match.deviceLo, e.match.deviceHi]).toEqual([0x2340, 0x237f])],
    ['subsystem', '1002:6741 subsys=106b:00e2 d3hot=20ms reason="x"', (e) => expect([e.match.subsystemVendor, e.match.subsystemDevice]).toEqual([0x106b, 0xe2])],
    ['subsystem with any device', '*:* subsys=103c:* class=0104 no_pm reason="x"', (e) => expect(e.match.subsystemDevice).toBeNull()],
    ['class CC', '*:* class=03 no_pm reason="x"', (e) => expect([e.match.classValue, e.match.classMask]).toEqual([0x030000, 0xff0000])],
    ['class CCSS', '*:* class=0300 no_pm reason="x"', (e) => expect([e.match.classValue, e.match.classMask]).toEqual([0x030000, 0xffff00])],
    ['class CCSSPP', '*:* class=010802 no_pm reason="x"', (e) => expect([e.match.classValue, e.match.classMask]).toEqual([0x010802, 0xffffff])],
    ['class with mask', '*:* class=0c0300/ffff00 no_pm reason="x"', (e) => expect([e.match.classValue, e.match.classMask]).toEqual([0x0c0300, 0xffff00])],
    ['revision', 'd063:1000 rev=01 no_flr reason="x"', (e) => expect([e.match.revLo, e.match.revHi]).toEqual([1, 1])],
    ['revision range', 'd063:1000 rev=01-0f no_flr reason="x"', (e) => expect([e.match.revLo, e.match.revHi]).toEqual([1, 15])],
    ['root bus', '1002:* class=0300 rootbus=no no_pm reason="x"', (e) => expect(e.match.rootBus).toBe(false)],
    ['prefer list', '8086:10ed prefer=kernel:device_specific,flr assume=flr reason="x"', (e) => {
      expect(e.prefer).toEqual(['kernel:device_specific', 'flr']);
      expect(e.assumeFlr).toBe(true);
    }],
    ['skip', '0e11:0046 skip reason="x"', (e) => expect([e.skip, e.prefer]).toEqual([true, null])],
    ['prefer=skip', '0e11:0046 prefer=skip reason="x"', (e) => expect(e.skip).toBe(true)],
    ['no_dma', '*:* class=0c05 no_dma reason="x"', (e) => expect(e.noDma).toBe(true)],
    ['delays in ms and s', '5555:0004 d3cold=1s wait=250ms d3hot=0ms d3hot_global=120ms reason="x"', (e) => {
      expect([e.d3coldMs, e.waitMs, e.d3hotMs, e.d3hotGlobalMs]).toEqual([1000, 250, 0, 120]);
    }],
    ['kernel function', '168c:003e no_bus kernel=quirk_no_bus_reset reason="x"', (e) => expect(e.kernel).toBe('quirk_no_bus_reset')],
    ['info only', '12d8:e110 info reason="x"', (e) => expect(e.info).toBe(true)],
    ['escapes and # inside a reason', '1234:5678 no_pm reason="say \\"hi\\" # not a comment \\\\"', (e) => expect(e.reason).toBe('say "hi" # not a comment \\')],
    ['trailing comment', '1234:5678 no_pm reason="x"   # because', (e) => expect(e.reason).toBe('x')],
    ['block form: indented lines continue, a reason in several strings', '1234:5678 no_pm\n    no_bus\n    reason="part one, "\n    "part two"', (e) => {
      expect(e.noBus).toBe(true);
      expect(e.reason).toBe('part one, part two');
      expect(e.text).toBe('1234:5678 no_pm no_bus reason="part one, " "part two"');
    }],
    ['CRLF line ends and a BOM', '\uFEFF1234:5678 no_pm reason="x"\r\n', (e) => expect(e.noPm).toBe(true)],
  ];
  for (const [name, text, check] of cases) it(name, () => check(one(text)));

  it('entries, comments and blank lines: line numbers are kept', () => {
    const r = parseQuirks('# head\n\n1234:0001 no_pm reason="a"\n  # a comment inside a block\n  wait=5ms\n\n1234:0002 no_bus reason="b"\n', 't');
    expect(r.entries.map((e) => [e.line, e.match.deviceLo, e.waitMs])).toEqual([[3, 1, 5], [7, 2, null]]);
  });

  it('formats a match and its actions back canonically', () => {
    const e = one('10de:2340-237f subsys=17aa:* class=0c0300/ffff00 rev=01-02 rootbus=yes prefer=kernel,pm no_bus wait=5ms kernel=q reason="x"');
    expect(formatMatch(e.match)).toBe('10de:2340-237f subsys=17aa:* class=0c03 rev=01-02 rootbus=yes');
    expect(formatActions(e)).toBe('prefer=kernel,pm no_bus wait=5ms kernel=q');
  });
});

describe('quirk table syntax: every error names file, line, column and what was expected', () => {
  const errors: [string, string, number, number, string][] = [
    ['bad vendor', '12345:0001 no_pm reason="x"', 1, 1, 'expected a vendor ID of 4 hex digits'],
    ['bad device', '1234:zz no_pm reason="x"', 1, 6, 'expected a device ID of 4 hex digits'],
    ['range backwards', '1234:0010-0001 no_pm reason="x"', 1, 6, 'runs backwards'],
    ['no colon', '12340001 no_pm reason="x"', 1, 1, 'expected the match VVVV:DDDD'],
    ['starts with a key', 'class=03 no_pm reason="x"', 1, 1, 'expected the match VVVV:DDDD first'],
    ['unknown method', '1234:0001 prefer=flr,reboot reason="x"', 1, 22, 'unknown method "reboot"; expected one of flr, af_flr, pm, bus, kernel'],
    ['unknown kernel method', '1234:0001 prefer=kernel:bogus reason="x"', 1, 18, 'unknown method "kernel:bogus"'],
    ['skip in a list', '1234:0001 prefer=flr,skip reason="x"', 1, 22, 'skip cannot be combined'],
    ['skip with prefer', '1234:0001 skip prefer=flr reason="x"', 1, 16, 'skip and prefer=... in one entry'],
    ['no_dma with skip', '1234:0001 no_dma skip reason="x"', 1, 18, 'skip and no_dma'],
    ['unknown flag', '1234:0001 no_reset reason="x"', 1, 11, 'unknown word "no_reset"'],
    ['flag given a value', '1234:0001 no_bus=yes reason="x"', 1, 11, 'no_bus is a flag and takes no value'],
    ['key without value', '1234:0001 prefer reason="x"', 1, 11, 'prefer takes a value'],
    ['unknown key', '1234:0001 delay=5ms reason="x"', 1, 11, 'unknown key "delay"'],
    ['duration without unit', '1234:0001 wait=250 reason="x"', 1, 16, 'expected a duration with its unit, e.g. 250ms'],
    ['duration too long', '1234:0001 wait=61s reason="x"', 1, 16, 'more than 60s'],
    ['class bits outside mask', '*:* class=0c0301/ffff00 no_pm reason="x"', 1, 11, 'bits outside mask'],
    ['class odd digits', '*:* class=030 no_pm reason="x"', 1, 11, 'expected class=CC'],
    ['subsys any any', '*:* subsys=*:* no_pm reason="x"', 1, 12, 'matches everything'],
    ['rootbus value', '1234:0001 rootbus=maybe no_pm reason="x"', 1, 19, 'expected rootbus=yes or rootbus=no'],
    ['assume value', '1234:0001 assume=pm reason="x"', 1, 18, 'expected assume=flr'],
    ['missing reason', '1234:0001 no_pm', 1, 1, 'entry has no reason'],
    ['empty reason', '1234:0001 no_pm reason=""', 1, 1, 'entry has no reason'],
    ['unquoted reason', '1234:0001 no_pm reason=because', 1, 24, 'expected reason="..."'],
    ['no action', '1234:0001 reason="x"', 1, 1, 'entry says nothing to do'],
    ['duplicate key', '1234:0001 wait=1ms wait=2ms reason="x"', 1, 20, 'wait= given twice'],
    ['duplicate flag', '1234:0001 no_pm no_pm reason="x"', 1, 17, 'no_pm given twice'],
    ['unclosed quote', '1234:0001 no_pm reason="x', 1, 24, 'quoted string is not closed'],
    ['text after a quote', '1234:0001 no_pm reason="x"y', 1, 27, 'expected a space after the closing quote'],
    ['quote inside a word', '1234:0001 no_pm reason=a"x"', 1, 25, 'a quote may only start a value'],
    ['stray quoted string', '1234:0001 no_pm "x" reason="y"', 1, 17, 'only continues reason'],
    ['bad escape', '1234:0001 no_pm reason="a\\n"', 1, 26, 'unknown escape'],
    ['indented line with no entry', '  1234:0001 no_pm reason="x"', 1, 3, 'indented line outside an entry'],
    ['control character', '1234:0001 no_pm\u0007 reason="x"', 1, 16, 'control character 0x07'],
    ['error on a continuation line', '1234:0001 no_pm\n    wait=5 reason="x"', 2, 10, 'expected a duration'],
  ];
  for (const [name, text, line, column, message] of errors) {
    it(name, () => {
      let err: unknown;
      try {
        parseQuirks(text, 'admin.quirks');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QuirkSyntaxError);
      const e = err as QuirkSyntaxError;
      expect(e.message).toContain(message);
      expect([e.file, e.line, e.column]).toEqual(['admin.quirks', line, column]);
      expect(e.message.startsWith(`admin.quirks:${line}:${column}: `)).toBe(true);
    });
  }

  it('collect mode reports every bad entry and keeps the good ones', () => {
    const r = parseQuirks('1234:0001 no_pm reason="ok"\n1234:zz no_pm reason="x"\n1234:0003 wait=5 reason="x"\n1234:0004 no_bus reason="ok"\n', 't', 0, { collect: true });
    expect(r.errors.map((e) => e.line)).toEqual([2, 3]);
    expect(r.entries.map((e) => e.line)).toEqual([1, 4]);
  });
});

/** The fuzz harness's seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}

describe('fuzz: the parser never crashes, and an error always points inside the text', () => {
  const seeds = [
    '168c:003e  no_bus  kernel=quirk_no_bus_reset\n    reason="quirk_no_bus_reset, drivers/pci/quirks.c:3800: Atheros"',
    '*:*  class=0c0300/ffff00  rev=01-0f rootbus=no prefer=kernel:flr,pm,bus wait=250ms d3hot=10ms reason="a \\"b\\" # c"',
    '1002:6741 subsys=106b:00e2 d3hot=20ms reason="x" # comment\n\n0e11:0046 skip reason="y"',
  ];
  const alphabet = ' \t\n:=,-*#"\\/0123456789abcdefxyz_sklpmfrbu\u0000é';
  it('10,000 mutations of valid tables (fixed seed)', () => {
    const r = rng(0xc0ffee);
    for (let i = 0; i < 10_000; i++) {
      const base = seeds[i % seeds.length]!;
      let text = base;
      const edits = 1 + Math.floor(r() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(r() * (text.length + 1));
        const op = r();
        const ch = alphabet[Math.floor(r() * alphabet.length)]!;
        if (op < 0.4) text = text.slice(0, at) + ch + text.slice(at);
        else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + ch + text.slice(at + 1);
      }
      const lines = text.split(/\r?\n/);
      try {
        const res = parseQuirks(text, 'fuzz');
        for (const e of res.entries) {
          expect(e.reason.length).toBeGreaterThan(0);
          expect(e.line).toBeGreaterThanOrEqual(1);
        }
      } catch (err) {
        if (!(err instanceof QuirkSyntaxError)) throw new Error(`not a syntax error for ${JSON.stringify(text)}: ${String(err)}`);
        expect(err.line).toBeGreaterThanOrEqual(1);
        expect(err.line).toBeLessThanOrEqual(lines.length);
        expect(err.column).toBeGreaterThanOrEqual(1);
        expect(err.column).toBeLessThanOrEqual(lines[err.line - 1]!.length + 1);
      }
      // Collect mode agrees: no throw at all.
      parseQuirks(text, 'fuzz', 0, { collect: true });
    }
  });
});
