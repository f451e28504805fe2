import { describe, expect, it } from 'vitest';
import { parseDmar } from '../../src/iommu/acpi/dmar.js';
import { acpiTable, andd, atsr, breakChecksum, Bytes, deviceScope, dmarTable, drhd, fixChecksum, qemuQ35Dmar, rawStructure, rhsa, rmrr, satc, SCOPE } from './acpi-bytes.js';

describe('DMAR parser', () => {
  it('reads QEMU q35 intel-iommu table (6.1+): one DRHD at fed90000, flags 0, IOAPIC + one scope per root-bus function', () => {
    const bytes = qemuQ35Dmar();
    // The e2e guest's boot line: "ACPI: DMAR 0x000000005FFE3238 000088 (v01 BOCHS  BXPC     00000001 BXPC 00000001)".
    expect(bytes.length).toBe(0x88);
    const t = parseDmar(bytes);
    expect(t.problems).toEqual([]);
    expect(t.damaged).toBe(false);
    expect(t.header).toMatchObject({ signature: 'DMAR', length: 0x88, revision: 1, oemId: 'BOCHS', oemTableId: 'BXPC', oemRevision: 1, creatorId: 'BXPC', creatorRevision: 1, checksumValid: true });
    expect(t.hostAddressWidth).toBe(39);
    expect(t.flags).toMatchObject({ intrRemap: true, x2apicOptOut: false, dmaCtrlPlatformOptIn: false });
    expect(t.drhds).toHaveLength(1);
    // The guest kernel prints it as "DMAR: DRHD base: 0x000000fed90000 flags: 0x0".
    expect(t.drhds[0]).toMatchObject({ registerBase: '0xfed90000', flags: 0, includePciAll: false, segment: 0, registerSize: 4096 });
    expect(t.drhds[0]!.scopes[0]).toEqual({ type: 3, kind: 'ioapic', enumerationId: 0, startBus: 0xff, path: [{ device: 0, function: 0 }] });
    expect(t.drhds[0]!.scopes.slice(1).map((s) => [s.kind, s.startBus, s.path[0]!.device, s.path[0]!.function])).toEqual([
      ['endpoint', 0, 0, 0],
      ['bridge', 0, 1, 0],
      ['bridge', 0, 2, 0],
      ['bridge', 0, 3, 0],
      ['bridge', 0, 4, 0],
      ['endpoint', 0, 0x1f, 0],
      ['endpoint', 0, 0x1f, 2],
      ['endpoint', 0, 0x1f, 3],
    ]);
  });

  it('reads QEMU ≤ 6.0 table: INCLUDE_PCI_ALL with the IOAPIC scope only, and the device-iotlb ATSR', () => {
    const t = parseDmar(qemuQ35Dmar({ legacy: true, deviceIotlb: true }));
    expect(t.problems).toEqual([]);
    expect(t.header!.length).toBe(72 + 8);
    expect(t.drhds[0]).toMatchObject({ includePciAll: true, flags: 1 });
    expect(t.drhds[0]!.scopes).toHaveLength(1);
    expect(t.atsrs).toEqual([{ offset: 72, allPorts: true, segment: 0, scopes: [] }]);
  });

  it('reads a server table: two DRHDs, scopes, RMRR, ATSR, RHSA, ANDD, SATC', () => {
    const t = parseDmar(
      dmarTable({
        hostAddressWidth: 46,
        intrRemap: true,
        x2apicOptOut: true,
        platformOptIn: true,
        structures: [
          drhd({ base: 0xfed90000, size: 0, scopes: [deviceScope({ type: SCOPE.ENDPOINT, startBus: 0, path: [[2, 0]] })] }),
          drhd({ base: 0xfed91000, includePciAll: true, scopes: [deviceScope({ type: SCOPE.IOAPIC, enumerationId: 2, startBus: 0xf0, path: [[0x1f, 0]] }), deviceScope({ type: SCOPE.HPET, enumerationId: 0, startBus: 0, path: [[0x1f, 0]] })] }),
          rmrr({ base: 0x7c000000, limit: 0x7fffffff, scopes: [deviceScope({ type: SCOPE.ENDPOINT, startBus: 0, path: [[2, 0]] })] }),
          atsr({ allPorts: true }),
          rhsa({ base: 0xfed91000, proximity: 0 }),
          andd({ deviceNumber: 1, name: '\\_SB.PCI0.I2C0' }),
          satc({ atcRequired: true, scopes: [deviceScope({ type: SCOPE.ENDPOINT, startBus: 0, path: [[2, 0]] })] }),
        ],
      }),
    );
    expect(t.problems).toEqual([]);
    expect(t.hostAddressWidth).toBe(46);
    expect(t.flags).toMatchObject({ raw: 7, intrRemap: true, x2apicOptOut: true, dmaCtrlPlatformOptIn: true });
    expect(t.drhds.map((d) => [d.registerBase, d.includePciAll, d.index])).toEqual([['0xfed90000', false, 0], ['0xfed91000', true, 1]]);
    expect(t.drhds[0]!.scopes[0]).toMatchObject({ kind: 'endpoint', startBus: 0, path: [{ device: 2, function: 0 }] });
    expect(t.drhds[1]!.scopes.map((s) => s.kind)).toEqual(['ioapic', 'hpet']);
    expect(t.rmrrs[0]).toMatchObject({ base: '0x7c000000', limit: '0x7fffffff' });
    expect(t.atsrs[0]).toMatchObject({ allPorts: true });
    expect(t.rhsas[0]).toMatchObject({ base: '0xfed91000', proximity: 0 });
    expect(t.andds[0]).toMatchObject({ deviceNumber: 1, name: '\\_SB.PCI0.I2C0' });
    expect(t.satcs[0]).toMatchObject({ atcRequired: true });
  });

  it('reports a bad checksum but keeps the contents', () => {
    const t = parseDmar(breakChecksum(qemuQ35Dmar()));
    expect(t.damaged).toBe(true);
    expect(t.problems.join('\n')).toMatch(/bad checksum/);
    expect(t.drhds).toHaveLength(1);
  });

  it('reports a table cut short and parses what is there', () => {
    const full = dmarTable({ structures: [drhd({ base: 0xfed90000 }), drhd({ base: 0xfed91000, includePciAll: true })] });
    const t = parseDmar(full.subarray(0, full.length - 4));
    expect(t.damaged).toBe(true);
    expect(t.problems.join('\n')).toMatch(/truncated: header says 80 bytes, file has 76/);
    expect(t.problems.join('\n')).toMatch(/DRHD at 0x40: length 16 overruns the table/);
    expect(t.drhds.map((d) => d.registerBase)).toEqual(['0xfed90000']);
  });

  it('stops on a structure whose length overruns the table', () => {
    const t = parseDmar(dmarTable({ structures: [drhd({ base: 0xfed90000, includePciAll: true }), rawStructure(1, 200, new Uint8Array(20))] }));
    expect(t.problems.join('\n')).toMatch(/RMRR at 0x40: length 200 overruns the table/);
    expect(t.damaged).toBe(true);
    expect(t.drhds).toHaveLength(1);
  });

  it('does not loop on a zero-length structure', () => {
    const t = parseDmar(dmarTable({ structures: [rawStructure(0, 0, new Uint8Array(12)), drhd({ base: 0xfed90000 })] }));
    expect(t.problems.join('\n')).toMatch(/DRHD at 0x30: length 0 is invalid; structure walk stopped/);
    expect(t.drhds).toHaveLength(0);
    expect(t.damaged).toBe(true);
  });

  it('skips an unknown structure type by its length and names it', () => {
    const t = parseDmar(dmarTable({ structures: [rawStructure(0x99, 8, new Uint8Array(4)), drhd({ base: 0xfed90000, includePciAll: true })] }));
    expect(t.problems).toEqual(['DMAR type 153 at 0x30: unknown remapping structure type 153 (length 8); skipped']);
    expect(t.damaged).toBe(false);
    expect(t.drhds).toHaveLength(1);
    expect(t.others).toEqual([{ offset: 0x30, type: 0x99, length: 8 }]);
  });

  it('stops a scope walk on a zero-length or overrunning scope, keeping the unit', () => {
    const badScope = new Bytes().u8(1).u8(0).zeros(6).build();
    const t = parseDmar(dmarTable({ structures: [drhd({ base: 0xfed90000, scopes: [deviceScope({ type: 1, startBus: 0, path: [[2, 0]] }), badScope] })] }));
    expect(t.drhds[0]!.scopes).toHaveLength(1);
    expect(t.problems.join('\n')).toMatch(/device scope at 0x48 has length 0 \(< 6\); scope walk stopped/);
    const over = new Bytes().u8(2).u8(40).zeros(6).build();
    const t2 = parseDmar(dmarTable({ structures: [drhd({ base: 0xfed90000, scopes: [over] })] }));
    expect(t2.problems.join('\n')).toMatch(/length 40\) overruns its structure/);
  });

  it('rejects a DRHD shorter than its fixed fields as a lost unit', () => {
    const t = parseDmar(dmarTable({ structures: [rawStructure(0, 8, new Uint8Array(4))] }));
    expect(t.problems.join('\n')).toMatch(/length 8 is shorter than the 16 bytes/);
    expect(t.damaged).toBe(true);
  });

  it('handles a file shorter than the header, a wrong signature, and an empty file', () => {
    expect(parseDmar(new Uint8Array(10)).problems[0]).toMatch(/10 bytes, shorter than the 36-byte ACPI header/);
    expect(parseDmar(new Uint8Array(0)).damaged).toBe(true);
    const wrong = acpiTable('APIC', new Bytes().zeros(12).build());
    const t = parseDmar(wrong);
    expect(t.problems[0]).toMatch(/signature "APIC", expected "DMAR"/);
    expect(t.damaged).toBe(true);
  });

  it('uses 64-bit register bases whole', () => {
    const t = parseDmar(dmarTable({ structures: [drhd({ base: 0x3ffffff00000n, includePciAll: true })] }));
    expect(t.drhds[0]!.registerBase).toBe('0x3ffffff00000');
  });

  it('flags a header length smaller than the header', () => {
    const b = qemuQ35Dmar();
    b[4] = 10;
    b[5] = 0;
    fixChecksum(b);
    const t = parseDmar(b);
    expect(t.problems.join('\n')).toMatch(/header length 10 is smaller than the header itself/);
    expect(t.drhds).toHaveLength(1);
  });
});
