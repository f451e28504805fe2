import { describe, expect, it } from 'vitest';
import { parseDmar } from '../../src/iommu/acpi/dmar.js';
import { parseIvrs } from '../../src/iommu/acpi/ivrs.js';
import { fixChecksum, qemuQ35Dmar, qemuQ35Ivrs, rawStructure, dmarTable, drhd, rmrr, deviceScope, SCOPE } from '../iommu/acpi-bytes.js';
import { bounded, iterations, Prng, report, seed } from './prng.js';

const SEEDS_DMAR = [
  qemuQ35Dmar(),
  qemuQ35Dmar({ legacy: true }),
  dmarTable({
    structures: [
      drhd({ base: 0xfed91000, flags: 1, scopes: [deviceScope({ type: SCOPE.IOAPIC, enumerationId: 2, startBus: 0xf0, path: [[0x1f, 0]] })] }),
      rmrr({ base: 0x7c000000, limit: 0x7c7fffff, scopes: [deviceScope({ type: SCOPE.ENDPOINT, startBus: 0, path: [[0x14, 0]] })] }),
      rawStructure(9, 8),
    ],
  }),
];
const SEEDS_IVRS = [qemuQ35Ivrs()];

/** Damage that walkers of length-prefixed structures meet: lengths, types, truncations, checksums. */
function damage(rng: Prng, src: Uint8Array): Uint8Array {
  let b = new Uint8Array(src);
  const edits = 1 + rng.int(5);
  for (let i = 0; i < edits; i++) {
    const off = rng.int(b.length);
    switch (rng.int(6)) {
      case 0: // a structure length of 0, 1, huge, or odd
        b[off] = rng.pick([0, 1, 2, 3, 0xff]);
        break;
      case 1: // the table length
        if (b.length >= 8) new DataView(b.buffer, b.byteOffset).setUint32(4, rng.pick([0, 35, 36, 48, b.length + 100, 0xffffffff, rng.int(b.length)]), true);
        break;
      case 2:
        b[off] = rng.int(256);
        break;
      case 3: // truncate
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 4: // append junk
        b = Uint8Array.from([...b, ...rng.bytes(rng.int(64))]);
        break;
      default: // an unknown structure type
        if (b.length > 50) b[48 + rng.int(Math.max(1, b.length - 50))] = rng.int(256);
    }
  }
  // Half the inputs keep a valid checksum so the parser walks past the checksum test.
  return rng.int(2) === 0 && b.length >= 36 ? fixChecksum(new Uint8Array(b)) : b;
}

function checkParsed(t: { problems: string[] }, label: string): void {
  for (const p of t.problems) expect(typeof p === 'string' && p.length > 0, label).toBe(true);
  expect(() => JSON.stringify(t, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).not.toThrow();
}

describe('fuzz: ACPI DMAR and IVRS parsers', () => {
  it('damaged DMAR tables', () => {
    const rng = new Prng(seed() + 11);
    const t0 = performance.now();
    const n = iterations(3000);
    for (let i = 0; i < n; i++) {
      const input = damage(rng, rng.pick(SEEDS_DMAR));
      checkParsed(bounded(`DMAR of ${input.length} bytes`, () => parseDmar(input)), `DMAR #${i}`);
    }
    report('ACPI DMAR tables', n, performance.now() - t0);
  });

  it('damaged IVRS tables', () => {
    const rng = new Prng(seed() + 13);
    const t0 = performance.now();
    const n = iterations(3000);
    for (let i = 0; i < n; i++) {
      const input = damage(rng, rng.pick(SEEDS_IVRS));
      checkParsed(bounded(`IVRS of ${input.length} bytes`, () => parseIvrs(input)), `IVRS #${i}`);
    }
    report('ACPI IVRS tables', n, performance.now() - t0);
  });

  it('random bytes behind a valid header', () => {
    const rng = new Prng(seed() + 17);
    const t0 = performance.now();
    const n = iterations(1000);
    for (let i = 0; i < n; i++) {
      for (const [sig, parse] of [['DMAR', parseDmar], ['IVRS', parseIvrs]] as const) {
        const b = rng.bytes(36 + rng.int(400));
        b.set([...sig].map((c) => c.charCodeAt(0)), 0);
        new DataView(b.buffer).setUint32(4, b.length, true);
        checkParsed(bounded(sig, () => parse(fixChecksum(b))), `${sig} random #${i}`);
      }
    }
    report('ACPI tables: random bytes behind a valid header', 2 * n, performance.now() - t0);
  });
});
