import { describe, expect, it } from 'vitest';
import { decide, predict, type Claim, type VerdictInput } from '../../src/iommu/verdict.js';

const c = (unit: string, field: Claim['field'], value: boolean, strength: Claim['strength'] = 'logged', source = 'kmsg'): Claim => ({ unit, field, value, strength, source, fact: `${field}=${value}` });
const input = (claims: Claim[], extra: Partial<VerdictInput> = {}): VerdictInput => ({
  captureKernel: true,
  units: [{ name: 'dmar0', vendor: 'intel' }],
  claims,
  untouched: [],
  noIommu: false,
  blockers: [],
  ...extra,
});

describe('verdict (pure)', () => {
  it.each([
    [false, false, null, '1'],
    [false, true, true, '2'],
    [true, false, false, '3b'],
    [true, true, false, '3a'],
    [true, true, true, '4'],
  ] as const)('before=%s now=%s managed=%s → case %s', (before, now, managed, expected) => {
    const claims = [c('dmar0', 'before', before), c('dmar0', 'now', now)];
    if (managed !== null) claims.push(c('dmar0', 'managed', managed));
    expect(decide(input(claims)).case).toBe(expected);
  });

  it('on in both but unknown whether the driver runs the unit: unknown, says so', () => {
    const v = decide(input([c('dmar0', 'before', true), c('dmar0', 'now', true)]));
    expect(v.case).toBe('unknown');
    expect(v.missing).toEqual(['dmar0: whether this kernel\'s driver runs the unit (4) or ignores it (3a)']);
  });

  it('stronger claims win; the weaker disagreeing one is a conflict', () => {
    const v = decide(input([c('dmar0', 'before', true), c('dmar0', 'now', true, 'inferred', 'sysfs'), c('dmar0', 'now', false, 'measured', 'mmio'), c('dmar0', 'managed', true)]));
    expect(v.units[0]!.now).toEqual({ value: false, basis: 'measured mmio: now=false' });
    expect(v.case).toBe('3b');
    expect(v.conflicts).toEqual(['dmar0 now: inferred sysfs says true (now=true), measured mmio says false; kept the measured one']);
  });

  it('equal strength disagreeing: unknown, never a guess', () => {
    const v = decide(input([c('dmar0', 'before', true, 'logged', 'kmsg'), c('dmar0', 'before', false, 'logged', 'old-log'), c('dmar0', 'now', true)]));
    expect(v.units[0]!.before.value).toBeNull();
    expect(v.case).toBe('unknown');
    expect(v.conflicts[0]).toMatch(/left unknown/);
  });

  it('an untouched unit keeps what the crashed kernel left', () => {
    const v = decide(input([c('dmar0', 'before', true), c('dmar0', 'managed', false, 'inferred')], { untouched: [{ unit: 'dmar0', source: 'proc/cmdline', fact: 'nobody touches it' }] }));
    expect(v.units[0]!.now.value).toBe(true);
    expect(v.case).toBe('3a');
  });

  it('defect 7: judged units that disagree make the machine `mixed`; each keeps its case', () => {
    const two = { units: [{ name: 'dmar0', vendor: 'intel' as const }, { name: 'dmar1', vendor: 'intel' as const }] };
    const v = decide(input([c('dmar0', 'before', false), c('dmar0', 'now', true), c('dmar0', 'managed', true), c('dmar1', 'before', true), c('dmar1', 'now', true), c('dmar1', 'managed', true)], two));
    expect(v.units.map((u) => u.case)).toEqual(['2', '4']);
    expect(v.case).toBe('mixed');
    expect(v.missing).toEqual([]);
  });

  it('units that disagree while one is unknown: unknown, and says both', () => {
    const three = { units: [{ name: 'dmar0', vendor: 'intel' as const }, { name: 'dmar1', vendor: 'intel' as const }, { name: 'dmar2', vendor: 'intel' as const }] };
    const v = decide(input([c('dmar0', 'before', true), c('dmar0', 'now', true), c('dmar0', 'managed', true), c('dmar1', 'before', true), c('dmar1', 'now', false)], three));
    expect(v.units.map((u) => u.case)).toEqual(['4', '3b', 'unknown']);
    expect(v.case).toBe('unknown');
    expect(v.missing).toContain('units disagree (dmar0 case 4, dmar1 case 3b): see each device\'s case');
  });

  it('a claim resting on absence never makes case 1, and ranks below any positive claim', () => {
    const absent: Claim = { ...c('dmar0', 'before', false, 'logged', 'old-log'), absence: true };
    const v = decide(input([absent, c('dmar0', 'now', false, 'measured')]));
    expect(v.units[0]!.before.value).toBe(false);
    expect(v.case).toBe('unknown');
    expect(v.missing[0]).toMatch(/absence lowers confidence, it never proves "off"/);
    const w = decide(input([absent, c('dmar0', 'before', true, 'inferred', 'mmio'), c('dmar0', 'now', true, 'measured'), c('dmar0', 'managed', false, 'inferred')]));
    expect(w.units[0]!.before).toMatchObject({ value: true, basis: 'inferred mmio: before=true' });
    expect(w.case).toBe('3a');
    // Absence may still tell case 2 from 4 (neither shrinks the plan).
    expect(decide(input([absent, c('dmar0', 'now', true), c('dmar0', 'managed', true)])).case).toBe('2');
  });

  it('blockers, no units, live systems', () => {
    expect(decide(input([c('dmar0', 'before', false), c('dmar0', 'now', false)], { blockers: ['acpi:DMAR is damaged'] })).case).toBe('unknown');
    expect(decide(input([], { units: [], noIommu: true })).case).toBe('1');
    expect(decide(input([], { units: [] })).missing[0]).toMatch(/no IOMMU unit found/);
    expect(decide(input([c('dmar0', 'now', true)], { captureKernel: false })).case).toBe('unknown');
  });

  it('predicts for a live system from the current state', () => {
    const on = decide(input([c('dmar0', 'now', true, 'measured')], { captureKernel: false }));
    expect(predict(on.units)).toMatchObject({ case: '4' });
    const off = decide(input([c('dmar0', 'now', false, 'measured')], { captureKernel: false }));
    expect(predict(off.units)).toMatchObject({ case: '1' });
    expect(predict(decide(input([], { captureKernel: false })).units)).toBeNull();
  });
});
