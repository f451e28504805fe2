import { afterAll, describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { kernelFlagsFor } from '../../src/quirks/kernel-flags.js';
import { defaultTable } from '../../src/quirks/load.js';
import { cleanup, endpoint, rootPort, scanTree } from '../plan/helpers.js';

afterAll(cleanup);

describe('kernel quirk flags for scan (flagsFor)', () => {
  it('the scan infers the kernel\'s methods with NO_*_RESET from the default table, and only from kernel quirks', () => {
    const tree = new MockTree().addAll([
      rootPort(1, 1),
      rootPort(2, 2),
      rootPort(3, 3),
      // Atheros: the kernel sets NO_BUS_RESET.
      endpoint('0000:01:00.0', '0000:00:01.0', { vendor: 0x168c, device: 0x003e, pcie: { type: 'endpoint' }, pm: { noSoftReset: true } }),
      // AMD VGA below a bridge: NO_PM_RESET.
      endpoint('0000:02:00.0', '0000:00:02.0', { vendor: 0x1002, device: 0x67df, classCode: 0x030000, pcie: { type: 'legacy_endpoint' }, pm: {} }),
      // Samsung SM961: our table says no_flr (field knowledge), the kernel sets no flag.
      endpoint('0000:03:00.0', '0000:00:03.0', { vendor: 0x144d, device: 0xa804, classCode: 0x010802 }),
      // AMD VGA on the root bus: the kernel leaves PM reset on.
      endpoint('0000:00:08.0', undefined, { vendor: 0x1002, device: 0x1638, classCode: 0x030000, pcie: { type: 'rc_integrated_endpoint' }, pm: {} }),
    ]);
    const s = scanTree(tree);
    const m = new Map(s.devices.map((d) => [d.bdf, d.inferredResetMethods]));
    expect(m.get('0000:01:00.0')).toEqual([]);
    expect(m.get('0000:02:00.0')).toEqual(['bus']);
    expect(m.get('0000:03:00.0')).toEqual(['flr', 'bus']);
    expect(m.get('0000:00:08.0')).toEqual(['pm']);
  });

  it('maps records to flags directly', () => {
    const f = kernelFlagsFor(defaultTable());
    const rec = (vendor: number, device: number, path = 'sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0') =>
      ({ bdf: '0000:01:00.0', path, vendor, device, classCode: 0x028000, revision: 1, subsystemVendor: 0, subsystemDevice: 0 }) as never;
    expect(f(rec(0x168c, 0x0030))).toEqual({ noBus: true });
    expect(f(rec(0x1022, 0x1487))).toEqual({ noFlr: true });
    expect(f(rec(0xd063, 0x1000))).toEqual({ noFlr: true });
    expect(f(rec(0x10de, 0x2345))).toEqual({ noBus: true });
    expect(f(rec(0x10de, 0x2380))).toEqual({});
    expect(f(rec(0x15b3, 0xcb84))).toEqual({ noPm: true });
    expect(f(rec(0x15b3, 0xcb84, 'sys/devices/pci0000:00/0000:00:02.0'))).toEqual({});
  });
});
