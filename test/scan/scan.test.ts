import { describe, expect, it } from 'vitest';
import { serverTree } from '../../src/mock/examples/server.js';
import { laptopTree } from '../../src/mock/examples/laptop.js';
import { scanTree } from '../helpers/open.js';

describe('scan of the example server', () => {
  const { result, dev } = scanTree(serverTree());

  it('lists every function once, in lspci order, with no problems', () => {
    expect(result.devices.length).toBe(29);
    const bdfs = result.devices.map((d) => d.bdf);
    expect(new Set(bdfs).size).toBe(bdfs.length);
    expect(bdfs.slice(0, 3)).toEqual(['0000:00:00.0', '0000:00:01.0', '0000:00:02.0']);
    expect(result.devices.flatMap((d) => d.problems)).toEqual([]);
    expect(result.problems).toEqual([]);
  });

  it('encodes the contract fields', () => {
    const nvme = dev('0000:01:00.0');
    expect(nvme).toMatchObject({
      bdf: '0000:01:00.0',
      vendor: '144d',
      device: 'a808',
      class: '010802',
      revision: '00',
      subsystemVendor: '144d',
      subsystemDevice: 'a801',
      headerType: 0,
      multiFunction: false,
      parent: '0000:00:01.0',
      secondaryBus: null,
      subordinateBus: null,
      pcieType: 'endpoint',
      flr: true,
      afFlr: false,
      pm: { version: 3, noSoftReset: true },
      resetMethods: ['flr', 'bus'],
      inferredResetMethods: ['flr', 'bus'],
      driver: 'nvme',
      iommuGroup: 9,
      problems: [],
    });
    expect(nvme.capabilities[0]).toEqual({ id: 1, offset: 64 });
    expect(nvme.extendedCapabilities[0]).toEqual({ id: 1, offset: 256 });
  });

  it('relates bridges, buses and the blast radius of a bus reset', () => {
    const rp = dev('0000:00:02.0');
    expect(rp).toMatchObject({ headerType: 1, secondaryBus: 2, subordinateBus: 6, pcieType: 'root_port', parent: null });
    expect(rp.below).toEqual(['0000:02:00.0', '0000:03:08.0', '0000:04:00.0', '0000:03:09.0', '0000:05:00.0', '0000:03:10.0']);
    expect(dev('0000:04:00.0').parent).toBe('0000:03:08.0');
    expect(dev('0000:03:09.0').sameBus).toEqual(['0000:03:08.0', '0000:03:10.0']);
    expect(dev('0000:01:00.0').below).toEqual([]);
  });

  it('SR-IOV: PF lists its VFs, VFs name their PF and take IDs from sysfs (config reads 0xFFFF)', () => {
    const pf = dev('0000:07:00.0');
    expect(pf.virtfns).toEqual(['0000:07:02.0', '0000:07:02.1', '0000:07:02.2', '0000:07:02.3']);
    const vf = dev('0000:07:02.1');
    expect(vf).toMatchObject({ physfn: '0000:07:00.0', vendor: '8086', device: '154c', driver: 'vfio-pci', inferredResetMethods: ['flr'] });
    expect(vf.resetMethods).toEqual(['flr']);
  });

  it('finds where the kernel listing lies (function 0 of a multi-function device, bridges)', () => {
    const gpu = dev('0000:08:00.0');
    expect(gpu.multiFunction).toBe(true);
    expect(gpu.resetMethods).toEqual(['bus']); // the kernel's NO_PM_RESET for AMD VGA shaped the listing
    expect(gpu.inferredResetMethods).not.toContain('bus');
    expect(gpu.staleResetMethods).toEqual(['bus']);
    expect(dev('0000:08:00.1').resetMethods).toEqual(['pm']);
    const up = dev('0000:02:00.0');
    expect(up.resetMethods).toEqual(['pm', 'bus']);
    expect(up.staleResetMethods).toEqual(['bus']);
    expect(dev('0000:00:00.0').resetMethods).toBeNull();
  });

  it('conventional PCI behind a PCIe-to-PCI bridge: AF FLR, no PCIe type, shared bus', () => {
    const nic = dev('0000:0b:01.0');
    expect(nic).toMatchObject({ pcieType: null, afFlr: true, flr: false, parent: '0000:0a:00.0', configSize: 256 });
    expect(nic.inferredResetMethods).toEqual(['af_flr', 'pm']);
    expect(dev('0000:0a:00.0').pcieType).toBe('pcie_to_pci_bridge');
    expect(dev('0000:0a:00.0').below).toEqual(['0000:0b:00.0', '0000:0b:01.0']);
  });
});

describe('scan of the example laptop', () => {
  const { result, dev } = scanTree(laptopTree());
  it('reads every function; the Atheros card keeps the kernel NO_BUS_RESET listing', () => {
    expect(result.devices.length).toBe(17);
    expect(dev('0000:2c:00.0').resetMethods).toEqual(['pm']);
    expect(dev('0000:00:02.0').inferredResetMethods).toEqual(['af_flr', 'pm']);
    expect(dev('0000:00:07.0')).toMatchObject({ secondaryBus: 1, subordinateBus: 0x2b, below: [] });
    expect(dev('0000:00:14.3').pcieType).toBe('rc_integrated_endpoint');
  });
});
