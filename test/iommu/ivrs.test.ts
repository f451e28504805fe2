import { describe, expect, it } from 'vitest';
import { parseIvrs, devidToBdf } from '../../src/iommu/acpi/ivrs.js';
import { breakChecksum, Bytes, devid, ivhd, ivhdEntry, ivmd, ivrsTable, qemuQ35Ivrs } from './acpi-bytes.js';

/** An EPYC-style single-IOMMU IVRS: type 0x10 and 0x40 blocks for 00:00.2, IOAPIC/HPET specials, an IVMD. */
function epycIvrs(): Uint8Array {
  const entries = [
    ivhdEntry.select(devid(0, 0, 0), 0),
    ivhdEntry.rangeStart(devid(0, 1, 0)),
    ivhdEntry.rangeEnd(devid(0, 0x1f, 7)),
    ivhdEntry.aliasRange(devid(0x20, 0, 0), devid(0x1f, 0, 0)),
    ivhdEntry.rangeEnd(devid(0x20, 0x1f, 7)),
    ivhdEntry.select(devid(1, 0, 0)),
    ivhdEntry.special(0x21, devid(0, 0x14, 0), 1, 0xd7),
    ivhdEntry.special(0x22, devid(0, 0, 1), 1),
    ivhdEntry.special(0x00, devid(0, 0x14, 0), 2),
    ivhdEntry.acpiHid(devid(0, 0x14, 5), 'AMDI0020', 'ID00'),
  ];
  return ivrsTable({
    ivinfo: 0x00203041,
    subtables: [
      ivhd({ type: 0x10, deviceId: devid(0, 0, 2), base: 0xfeb80000, entries }),
      ivhd({ type: 0x40, deviceId: devid(0, 0, 2), base: 0xfeb80000, efr: 0x246577efa2254afan, entries }),
      ivmd({ type: 0x21, devid: devid(0, 0x14, 0), start: 0x9d000000, length: 0x100000 }),
    ],
  });
}

describe('IVRS parser', () => {
  it('reads IVinfo, both IVHD types, device entries and the IVMD', () => {
    const t = parseIvrs(epycIvrs());
    expect(t.problems).toEqual([]);
    expect(t.ivinfo).toMatchObject({ efrSupported: true, dmaRemapSupported: false, physicalAddressBits: 0x30, virtualAddressBits: 0x40 });
    expect(t.ivhds.map((h) => [h.type, h.iommuBdf, h.registerBase])).toEqual([
      [0x10, '0000:00:00.2', '0xfeb80000'],
      [0x40, '0000:00:00.2', '0xfeb80000'],
    ]);
    expect(t.targetIvhdType).toBe(0x40);
    const h = t.ivhds[1]!;
    expect(h.efr).toBe('0x246577efa2254afa');
    expect(h.entries.map((e) => e.name)).toEqual(['SELECT', 'RANGE_START', 'RANGE_END', 'ALIAS_RANGE', 'RANGE_END', 'SELECT', 'SPECIAL', 'SPECIAL', 'SPECIAL', 'ACPI_HID']);
    expect(h.entries[6]).toMatchObject({ handle: 0x21, devid: devid(0, 0x14, 0), variety: 'ioapic', flags: 0xd7 });
    expect(h.entries[8]).toMatchObject({ variety: 'hpet' });
    expect(h.entries[9]).toMatchObject({ hid: 'AMDI0020', uid: 'ID00' });
    expect(h.entries[3]).toMatchObject({ alias: devid(0x1f, 0, 0) });
    expect(h.coverage.ranges).toEqual([
      { first: 0, last: 0 },
      { first: devid(0, 1, 0), last: devid(0, 0x1f, 7) },
      { first: devid(0x20, 0, 0), last: devid(0x20, 0x1f, 7) },
      { first: devid(1, 0, 0), last: devid(1, 0, 0) },
    ]);
    expect(t.ivmds[0]).toMatchObject({ type: 0x21, start: '0x9d000000', length: '0x100000' });
  });

  it('reads QEMU\'s amd-iommu IVRS for the e2e guest: selects, leaf ranges, the conventional-bus alias, the IOAPIC', () => {
    const t = parseIvrs(qemuQ35Ivrs());
    expect(t.problems).toEqual([]);
    expect(t.header).toMatchObject({ oemId: 'BOCHS', oemTableId: 'BXPC', revision: 1 });
    expect(t.ivinfo).toMatchObject({ physicalAddressBits: 40 });
    expect(t.targetIvhdType).toBe(0x10);
    const h = t.ivhds[0]!;
    expect(h).toMatchObject({ type: 0x10, flags: 0xd1, iommuBdf: '0000:00:05.0', capabilityOffset: 0x40, registerBase: '0xfed80000', segment: 0, efr: null });
    expect(h.entries.filter((e) => e.name === 'ALIAS_RANGE')).toEqual([{ offset: expect.any(Number), type: 0x43, name: 'ALIAS_RANGE', devid: devid(4, 0, 0), flags: 0, alias: devid(4, 0, 0) }]);
    expect(h.entries.at(-1)).toMatchObject({ name: 'SPECIAL', variety: 'ioapic', devid: devid(0, 0x14, 0) });
    const covers = (bus: number, dev: number, fn: number): boolean => h.coverage.ranges.some((r) => devid(bus, dev, fn) >= r.first && devid(bus, dev, fn) <= r.last);
    for (const [b, d, f] of [[0, 0, 0], [0, 1, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 1, 0], [5, 0, 0], [6, 0, 0], [7, 0, 0], [0, 0x1f, 3]]) expect(covers(b!, d!, f!)).toBe(true);
    expect(covers(0, 6, 0)).toBe(false);
  });

  it('reads an ALL entry and segment numbers', () => {
    const t = parseIvrs(ivrsTable({ subtables: [ivhd({ type: 0x11, deviceId: devid(0x40, 0, 2), segment: 1, base: 0xf0000000, entries: [ivhdEntry.all()] })] }));
    expect(t.ivhds[0]).toMatchObject({ iommuBdf: '0001:40:00.2', segment: 1, coverage: { all: true, ranges: [] } });
  });

  it('reports a bad checksum', () => {
    const t = parseIvrs(breakChecksum(epycIvrs()));
    expect(t.damaged).toBe(true);
    expect(t.problems[0]).toMatch(/bad checksum/);
    expect(t.ivhds).toHaveLength(2);
  });

  it('stops on an IVHD whose length overruns the table, and on a zero-length subtable', () => {
    const block = ivhd({ type: 0x40, deviceId: 2, base: 0xfeb80000, entries: [ivhdEntry.all()] });
    block[2] = 0xff;
    const t = parseIvrs(ivrsTable({ subtables: [block] }));
    expect(t.problems.join('\n')).toMatch(/length 255 overruns the table/);
    expect(t.damaged).toBe(true);
    const zero = new Bytes().u8(0x40).u8(0).u16(0).zeros(4).build();
    const t2 = parseIvrs(ivrsTable({ subtables: [zero, block] }));
    expect(t2.problems.join('\n')).toMatch(/length 0 is invalid; subtable walk stopped/);
  });

  it('stops an entry walk on an entry type of unknown length', () => {
    const t = parseIvrs(ivrsTable({ subtables: [ivhd({ type: 0x11, deviceId: 2, base: 0xfeb80000, entries: [ivhdEntry.select(0x100), new Bytes().u8(0x90).u16(0).u8(0).build()] })] }));
    expect(t.problems.join('\n')).toMatch(/device entry type 0x90 at 0x.*has no known length; entry walk stopped/);
    expect(t.ivhds[0]!.coverage.ranges).toEqual([{ first: 0x100, last: 0x100 }]);
  });

  it('names an unknown subtable type and a range end without a start', () => {
    const unknown = new Bytes().u8(0x50).u8(0).u16(8).zeros(4).build();
    const t = parseIvrs(ivrsTable({ subtables: [unknown, ivhd({ type: 0x11, deviceId: 2, base: 0xfeb80000, entries: [ivhdEntry.rangeEnd(5)] })] }));
    expect(t.problems.join('\n')).toMatch(/subtable 0x50 at 0x30: unknown subtable type/);
    expect(t.problems.join('\n')).toMatch(/range end at .* without a start/);
  });

  it('formats 16-bit device IDs as BDFs', () => {
    expect(devidToBdf(0, devid(0x47, 0, 1))).toBe('0000:47:00.1');
    expect(devidToBdf(2, 0xffff)).toBe('0002:ff:1f.7');
  });
});
