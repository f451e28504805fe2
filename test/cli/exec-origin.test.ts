import { describe, expect, it } from 'vitest';
import { execOrigin, procUptime } from '../../src/cli/exec-origin.js';

describe('the deadline origin a launcher passes (PRA_EXEC_UPTIME)', () => {
  it('counts from the exec: node started 50 s after it, 200 ms ago on its own clock', () => {
    expect(execOrigin('100.00', () => 150.2, 200)).toBeCloseTo(-50000, 6);
  });

  it('without the variable, or with one that cannot be a start time, node\'s own start (0)', () => {
    expect(execOrigin(undefined, () => 150, 200)).toBe(0);
    for (const bad of ['', 'abc', '-5', '1e3', '100 200']) expect(execOrigin(bad, () => 150, 200)).toBe(0);
    expect(execOrigin('200', () => 150, 200)).toBe(0); // after now
    expect(execOrigin('10', () => 1000, 200)).toBe(0); // stale: 990 s ago
    expect(execOrigin('100', () => null, 200)).toBe(0); // no uptime
  });

  it('never later than node\'s own start', () => {
    expect(execOrigin('150', () => 150, 200)).toBe(0);
  });

  it('reads the first field of /proc/uptime', () => {
    expect(procUptime(() => '4711.25 9000.50\n')).toBe(4711.25);
    expect(procUptime(() => 'x')).toBeNull();
    expect(procUptime(() => {
      throw new Error('EACCES');
    })).toBeNull();
  });
});
