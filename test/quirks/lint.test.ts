import { describe, expect, it } from 'vitest';
import { DEFAULT_QUIRKS_TEXT } from '../../src/quirks/default-text.js';
import { formatFinding, lintTables } from '../../src/quirks/lint.js';

const lint = (text: string, withDefault = true) =>
  lintTables([
    ...(withDefault ? [{ label: 'default.quirks', text: DEFAULT_QUIRKS_TEXT, report: false }] : []),
    { label: 'admin.quirks', text, report: true },
  ]).findings.map(formatFinding);

describe('quirks lint', () => {
  it('the default table is clean', () => {
    const r = lintTables([{ label: 'default.quirks', text: DEFAULT_QUIRKS_TEXT, report: true }]);
    expect(r.findings.map(formatFinding)).toEqual([]);
    expect(r.entries).toBeGreaterThan(100);
  });

  const rows: [string, string, string[]][] = [
    ['syntax: every bad line, not just the first', '1234:zz no_pm reason="a"\n1234:0001 prefer=reboot reason="b"\n', [
      'admin.quirks:1:6: error: expected a device ID of 4 hex digits, * or a range DDDD-DDDD, found "zz"',
      'admin.quirks:2:18: error: unknown method "reboot"; expected one of flr, af_flr, pm, bus, kernel, kernel:<device_specific|acpi|flr|af_flr|pm|bus|cxl_bus>, vfio, skip',
    ]],
    ['an entry that prefers what it forbids', '1234:0001 prefer=kernel:flr,pm no_flr reason="a"\n', [
      'admin.quirks:1:1: error: prefers kernel:flr and forbids it (no_flr) in the same entry',
    ]],
    ['a preference another entry forbids for every function it matches (here the kernel\'s Atheros quirk)', '168c:003e prefer=bus reason="a"\n', [
      'admin.quirks:1:1: error: prefers bus, which default.quirks:151 forbids for every function this entry matches (the preference can never apply)',
    ]],
    ['partly dead preference is a warning', '1234:* no_pm reason="v"\n1234:0001 prefer=pm,flr reason="a"\n', [
      'admin.quirks:2:1: warning: prefers pm, which admin.quirks:1 forbids for every function this entry matches',
    ]],
    ['a narrower forbid does not contradict a wider preference', '1234:0001 no_pm reason="v"\n1234:* prefer=pm reason="a"\n', []],
    ['duplicates', '1234:0001 no_pm reason="a"\n1234:0001 no_pm reason="same again"\n', ['admin.quirks:2:1: warning: duplicate of admin.quirks:1 (same match, same actions)']],
    ['shadowed: a later entry with the same match decides everything the earlier one does', '1234:0001 wait=5ms reason="a"\n1234:0001 wait=9ms reason="b"\n', [
      'admin.quirks:1:1: warning: wait=5ms is overridden by admin.quirks:2 (wait=9ms) for the same match',
      'admin.quirks:1:1: warning: shadowed by admin.quirks:2: it never takes effect',
    ]],
    ['not shadowed when the earlier one adds a forbid', '1234:0001 wait=5ms no_pm reason="a"\n1234:0001 wait=9ms reason="b"\n', [
      'admin.quirks:1:1: warning: wait=5ms is overridden by admin.quirks:2 (wait=9ms) for the same match',
    ]],
    ['an admin entry overriding the default table is not a finding', '1002:67df prefer=bus reason="ours resets with SBR"\n', []],
    ['info beside actions', '1234:0001 info no_pm reason="a"\n', ['admin.quirks:1:1: warning: info beside other actions adds nothing (info is for entries that only document)']],
    ['a device ID without a vendor', '*:0001 no_pm reason="a"\n', ['admin.quirks:1:1: warning: a device ID without a vendor (*:DDDD) matches that ID of every vendor']],
  ];
  for (const [name, text, expected] of rows) it(name, () => expect(lint(text)).toEqual(expected));

  it('a refused table is an error, as loading refuses it (issue 15.14)', () => {
    const r = lintTables([{ label: 'x.quirks', text: '1234:0001 no_pm reason="a"', report: true, refused: 'x.quirks: table is world-writable (mode 0666); refused (chmod go-w)' }]);
    expect(r.findings.map(formatFinding)).toEqual(['x.quirks:1:1: error: x.quirks: table is world-writable (mode 0666); refused (chmod go-w)']);
  });
});
