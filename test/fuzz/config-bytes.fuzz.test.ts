import { describe, expect, it } from 'vitest';
import { decodeConfig } from '../../src/config/decode.js';
import { serverFunctions } from '../../src/mock/examples/server.js';
import { laptopFunctions } from '../../src/mock/examples/laptop.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import { bounded, iterations, Prng, report, seed } from './prng.js';

const tree = new MockTree().addAll([...serverFunctions(), ...laptopFunctions().map((f) => ({ ...f, bdf: `0001${f.bdf.slice(4)}`, parent: f.parent ? `0001${f.parent.slice(4)}` : undefined }))]);
const REAL = tree.functions.map((f) => tree.configOf(f.bdf));

function checkInvariants(bytes: Uint8Array): void {
  const d = bounded(`decode of ${bytes.length} bytes`, () => decodeConfig(bytes));
  expect(d.size).toBe(bytes.length);
  expect(d.capabilities.length).toBeLessThanOrEqual(48);
  expect(d.extendedCapabilities.length).toBeLessThanOrEqual(480);
  for (const c of d.capabilities) expect(c.offset >= 0x40 && c.offset <= 0xfc && c.offset % 4 === 0).toBe(true);
  for (const c of d.extendedCapabilities) expect(c.offset >= 0x100 && c.offset < bytes.length).toBe(true);
  for (const p of d.problems) expect(typeof p === 'string' && p.length > 0).toBe(true);
  expect(() => JSON.stringify(d)).not.toThrow();
}

/** One random edit of the kinds that break walkers: pointers, IDs, lengths, whole regions. */
function mutate(rng: Prng, src: Uint8Array): Uint8Array {
  const b = new Uint8Array(src);
  const edits = 1 + rng.int(6);
  for (let i = 0; i < edits; i++) {
    switch (rng.int(7)) {
      case 0: // capability pointer anywhere, including into the header and back into the chain
        b[0x34] = rng.int(256);
        break;
      case 1: { // a next pointer inside the chain
        const off = 0x40 + rng.int(0xc0);
        b[off + 1 < b.length ? off + 1 : off] = rng.int(256);
        break;
      }
      case 2: { // an extended header (next pointer, ID)
        if (b.length > 0x104) {
          const off = 0x100 + 4 * rng.int((b.length - 0x100) / 4);
          const v = rng.int(0x10000) | (rng.int(16) << 16) | (rng.int(0x1000) << 20);
          b[off] = v & 0xff;
          b[off + 1] = (v >> 8) & 0xff;
          b[off + 2] = (v >> 16) & 0xff;
          b[off + 3] = (v >>> 24) & 0xff;
        }
        break;
      }
      case 3:
        b[rng.int(b.length)] = rng.int(256);
        break;
      case 4:
        b[0x0e] = rng.int(256); // header type
        break;
      case 5:
        b[0x06] = rng.int(256); // status, incl. the capability-list bit
        break;
      default:
        b.fill(rng.pick([0x00, 0xff]), rng.int(b.length), rng.int(b.length + 1));
    }
  }
  return rng.int(4) === 0 ? b.subarray(0, rng.int(b.length + 1)) : b;
}

describe('fuzz: config-space decoder', () => {
  it('random bytes of random lengths', () => {
    const rng = new Prng(seed());
    const n = iterations(3000);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) checkInvariants(rng.bytes(rng.pick([0, 1, 63, 64, 100, 256, 257, 4095, 4096, rng.int(4097)])));
    report('config space: random bytes', n, performance.now() - t0);
  });

  it('mutations of real config spaces (loops, header pointers, truncations, fills)', () => {
    const rng = new Prng(seed() + 1);
    const n = iterations(5000);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) checkInvariants(mutate(rng, rng.pick(REAL)));
    report('config space: mutated real ones', n, performance.now() - t0);
  });

  it('all-ones and all-zeros at every standard size', () => {
    for (const size of [0, 64, 128, 256, 4096]) {
      checkInvariants(new Uint8Array(size).fill(0xff));
      checkInvariants(new Uint8Array(size));
    }
  });
});
