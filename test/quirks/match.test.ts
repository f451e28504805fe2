import { describe, expect, it } from 'vitest';
import { lookup, specificity } from '../../src/quirks/match.js';
import { parseQuirks } from '../../src/quirks/parse.js';
import { cite, type QuirkSubject, type QuirkTable } from '../../src/quirks/quirk-types.js';

/** Tables given as texts, loaded in order (index = file order). */
function tables(...texts: string[]): QuirkTable {
  const entries = texts.flatMap((t, i) => parseQuirks(t, `t${i}.quirks`, i).entries);
  return { entries, sources: texts.map((_, i) => ({ label: `t${i}.quirks`, entries: 0 })) };
}

const gpu: QuirkSubject = { vendor: 0x1002, device: 0x67df, subsystemVendor: 0x1043, subsystemDevice: 0x04fb, classCode: 0x030000, revision: 0xc7, rootBus: false };

describe('precedence: the most specific match wins each setting, then later tables, then later lines', () => {
  it('specificity counts pinned keys: subsystem > device > range > vendor; revision, class, root bus add', () => {
    const s = (text: string) => specificity(parseQuirks(`${text} no_pm reason="x"`, 't').entries[0]!.match);
    expect(s('1002:67df subsys=1043:04fb')).toBeGreaterThan(s('1002:67df rev=c7 class=0300 rootbus=no'));
    expect(s('1002:67df')).toBeGreaterThan(s('1002:6700-67ff rev=c7 class=0300 rootbus=no'));
    expect(s('1002:6700-67ff')).toBeGreaterThan(s('1002:* rev=c7 class=0300 rootbus=no'));
    expect(s('1002:*')).toBeGreaterThan(s('*:* rev=c7 class=0300 rootbus=no'));
    expect(s('1002:67df rev=c7')).toBeGreaterThan(s('1002:67df rev=c0-cf'));
  });

  const rows: [string, string[], (r: ReturnType<typeof lookup>) => void][] = [
    ['a device entry beats a vendor entry for prefer', ['1002:* prefer=pm reason="v"\n1002:67df prefer=bus reason="d"'], (r) => expect(r.effective.prefer?.value).toEqual(['bus'])],
    ['order inside a table does not beat specificity', ['1002:67df prefer=bus reason="d"\n1002:* prefer=pm reason="v"'], (r) => expect(r.effective.prefer?.value).toEqual(['bus'])],
    ['equal specificity: the later table wins', ['1002:67df prefer=pm reason="a"', '1002:67df prefer=flr reason="b"'], (r) => expect(cite(r.effective.prefer!.from)).toBe('t1.quirks:1')],
    ['equal specificity, same table: the later line wins', ['1002:67df wait=5ms reason="a"\n1002:67df wait=9ms reason="b"'], (r) => expect(r.effective.waitMs?.value).toBe(9)],
    ['a more specific skip beats a prefer', ['1002:* prefer=pm reason="v"\n1002:67df subsys=1043:04fb skip reason="s"'], (r) => {
      expect(r.effective.skip).not.toBeNull();
      expect(r.effective.prefer).toBeNull();
    }],
    ['a more specific prefer brings back a no_dma class', ['*:* class=03 no_dma reason="c"\n1002:67df prefer=bus reason="d"'], (r) => {
      expect(r.effective.noDma).toBeNull();
      expect(r.effective.prefer?.value).toEqual(['bus']);
    }],
    ['forbids add up and are never lifted by a more specific entry', ['1002:* class=0300 no_pm reason="k"', '1002:67df prefer=pm no_bus reason="admin"'], (r) => {
      expect(r.effective.noPm.map(cite)).toEqual(['t0.quirks:1']);
      expect(r.effective.noBus.map(cite)).toEqual(['t1.quirks:1']);
      expect(r.effective.prefer?.value).toEqual(['pm']);
    }],
    ['settings come from different winners', ['1002:* d3hot=20ms reason="v"\n1002:67df wait=100ms reason="d"'], (r) => {
      expect(r.effective.d3hotMs?.value).toBe(20);
      expect(r.effective.waitMs?.value).toBe(100);
    }],
    ['class mask, revision range and root bus keys filter', ['*:* class=0c03 no_pm reason="usb"\n1002:67df rev=00-0f no_bus reason="old"\n1002:67df rootbus=yes no_flr reason="root"\n1002:67df rootbus=no info reason="below"'], (r) => {
      expect(r.effective.matched.map((e) => e.line)).toEqual([4]);
    }],
    ['device ranges', ['1002:6700-67ff no_bus reason="r"\n1002:6800-68ff no_pm reason="s"'], (r) => expect(r.effective.matched.map((e) => e.line)).toEqual([1])],
    ['all info entries apply', ['1002:* info reason="a"\n1002:67df info reason="b"'], (r) => expect(r.effective.info).toHaveLength(2)],
  ];
  for (const [name, texts, check] of rows) it(name, () => check(lookup(tables(...texts), gpu)));

  it('entries keyed on something the subject does not say are conditional, never applied', () => {
    const r = lookup(tables('*:* class=0300 no_pm reason="c"\n1002:67df subsys=1043:04fb no_bus reason="s"\n1002:67df no_flr reason="d"'), { ...gpu, classCode: null, subsystemVendor: null, subsystemDevice: null });
    expect(r.effective.matched.map((e) => e.line)).toEqual([3]);
    expect(r.conditional.map((e) => e.line).sort()).toEqual([1, 2]);
    expect(r.effective.noPm).toEqual([]);
  });
});
