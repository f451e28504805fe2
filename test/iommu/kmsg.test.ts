import { afterAll, describe, expect, it } from 'vitest';
import { toLogLines, unescapeKmsg } from '../../src/iommu/kmsg/log-lines.js';
import { parseLog } from '../../src/iommu/kmsg/parse-log.js';
import { kernelFacilityOnly, readRecords } from '../../src/iommu/kmsg/read-kmsg.js';
import { qemuQ35Dmar } from './acpi-bytes.js';
import { assessScenario, cleanupRoots, q35Functions, type Scenario } from './mock-roots.js';

const parse = (text: string, firstSeq: number | null = null) => parseLog(toLogLines(text), 'kmsg', firstSeq);
const one = (line: string) => parse(line).faults[0];

describe('log shapes', () => {
  it('reads /dev/kmsg records, skipping dictionary lines and unescaping \\xNN', () => {
    const lines = toLogLines(
      [
        '6,0,0,-;Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org)',
        '3,812,1850301,-;DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0xfffd0000 [fault reason 0x06] PTE Read access is not set',
        ' SUBSYSTEM=pci',
        ' DEVICE=+pci:0000:01:00.0',
        '3,813,1850302,c;DMAR:[DMA Write] Request device [00:02.0] fault addr 7fe00000 \\x0aDMAR:[fault reason 05] PTE Write access is not set',
      ].join('\n'),
    );
    expect(lines.map((l) => [l.seq, l.text])).toEqual([
      [0, 'Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org)'],
      [812, 'DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0xfffd0000 [fault reason 0x06] PTE Read access is not set'],
      [813, 'DMAR:[DMA Write] Request device [00:02.0] fault addr 7fe00000 '],
      [813, 'DMAR:[fault reason 05] PTE Write access is not set'],
    ]);
  });

  it('strips dmesg, dmesg -T, dmesg -r and journal prefixes', () => {
    const lines = toLogLines(
      [
        '[    1.234567] DMAR: IOMMU enabled',
        '[Thu Jan  4 23:12:54 2024] DMAR-IR: Enabled IRQ remapping in x2apic mode',
        '<6>[    2.000000] DMAR: Intel(R) Virtualization Technology for Directed I/O',
        'Nov 24 22:37:01 host kernel: AMD-Vi: Interrupt remapping enabled',
        '2026-11-24T22:37:01.123456+00:00 host kernel: iommu: Default domain type: Translated',
      ].join('\n'),
    );
    expect(lines.map((l) => l.text)).toEqual([
      'DMAR: IOMMU enabled',
      'DMAR-IR: Enabled IRQ remapping in x2apic mode',
      'DMAR: Intel(R) Virtualization Technology for Directed I/O',
      'AMD-Vi: Interrupt remapping enabled',
      'iommu: Default domain type: Translated',
    ]);
  });

  it('unescapes backslashes and UTF-8 bytes', () => {
    expect(unescapeKmsg('a\\x5cb\\xc3\\xa9')).toBe('a\\bé');
  });

  it('knows a log that starts at boot from one that does not', () => {
    expect(parse('[    0.000000] Linux version 6.1.0 (x)\n[ 1.0] DMAR: IOMMU enabled').complete).toBe(true);
    expect(parse('6,0,0,-;Booting the kernel', 0).complete).toBe(true);
    expect(parse('6,5000,0,-;DMAR: IOMMU enabled', 5000).complete).toBe(false);
    expect(parse('[ 900.0] DMAR: IOMMU enabled').complete).toBe(false);
  });
});

describe('VT-d fault record variants', () => {
  it('2.6–4.1: two lines, decimal reason', () => {
    const f = parse('DMAR:[DMA Read] Request device [00:02.0] fault addr 7fe00000 \nDMAR:[fault reason 06] PTE Read access is not set').faults;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ vendor: 'intel', type: 'dma', bus: 0, dev: 2, fn: 0, access: 'DMA Read', address: '0x7fe00000', reason: '0x06 PTE Read access is not set', segment: null });
  });

  it('2.6–4.1 via kmsg, decimal reason 12 is 0x0c', () => {
    const f = parse('3,9,9,-;DMAR:[DMA Write] Request device [03:00.1] fault addr 1000 \\x0aDMAR:[fault reason 12] non-zero reserved fields in PTE').faults;
    expect(f[0]).toMatchObject({ bus: 3, dev: 0, fn: 1, access: 'DMA Write', reason: '0x0c non-zero reserved fields in PTE' });
  });

  it('4.2–4.x: one line with the pr_fmt prefix', () => {
    expect(one('DMAR: [DMA Write] Request device [02:00.0] fault addr fffd0000 [fault reason 05] PTE Write access is not set')).toMatchObject({
      bus: 2, dev: 0, fn: 0, access: 'DMA Write', address: '0xfffd0000', reason: '0x05 PTE Write access is not set',
    });
  });

  it('5.0–5.6: PASID after the device', () => {
    expect(one('DMAR: [DMA Read] Request device [00:14.0] PASID ffffffff fault addr 9f000000 [fault reason 06] PTE Read access is not set')).toMatchObject({
      bus: 0, dev: 0x14, fn: 0, address: '0x9f000000', reason: '0x06 PTE Read access is not set',
    });
  });

  it('5.7: NO_PASID with 0x-prefixed bus and device', () => {
    expect(one('DMAR: [DMA Read NO_PASID] Request device [0x3b:0x00.0] fault addr 0xa0000 [fault reason 0x06] PTE Read access is not set')).toMatchObject({
      bus: 0x3b, dev: 0, fn: 0, address: '0xa0000', reason: '0x06 PTE Read access is not set',
    });
  });

  it('5.8+: NO_PASID and PASID forms', () => {
    expect(one('DMAR: [DMA Write NO_PASID] Request device [00:1f.6] fault addr 0xc2000000 [fault reason 0x05] PTE Write access is not set')).toMatchObject({ bus: 0, dev: 0x1f, fn: 6, access: 'DMA Write' });
    expect(one('DMAR: [DMA Read PASID 0x2] Request device [65:00.0] fault addr 0x7f0000 [fault reason 0x71] SM: Present bit in first-level paging entry is clear')).toMatchObject({
      bus: 0x65, reason: '0x71 SM: Present bit in first-level paging entry is clear',
    });
  });

  it('the never-merged "w/o PASID" proposal still counts', () => {
    expect(one('DMAR: [DMA Read w/o PASID] Request device [00:02.0] fault addr 1000 [fault reason 06h] PTE Read access is not set')).toMatchObject({ reason: '0x06 PTE Read access is not set' });
  });

  it('interrupt-remapping faults: old two-line, 4.x, 5.7 and 5.8+', () => {
    const f = parse(
      [
        'INTR-REMAP: Request device [[f0:1f.0] fault index 21',
        'INTR-REMAP:[fault reason 34] Detected reserved fields in the IRTE entry',
        'DMAR: [INTR-REMAP] Request device [f0:1f.0] fault index 21 [fault reason 38] Blocked an interrupt request due to source-id verification failure',
        'DMAR: [INTR-REMAP] Request device [0xf0:0x1f.0] fault index 0x21 [fault reason 0x25] Blocked a compatibility format interrupt request',
        'DMAR: [INTR-REMAP] Request device [f0:1f.0] fault index 0x0 [fault reason 0x26] Blocked an interrupt request due to source-id verification failure',
      ].join('\n'),
    ).faults;
    expect(f.map((x) => [x.type, x.bus, x.dev, x.fn, x.reason?.slice(0, 4)])).toEqual([
      ['irq', 0xf0, 0x1f, 0, '0x22'],
      ['irq', 0xf0, 0x1f, 0, '0x26'],
      ['irq', 0xf0, 0x1f, 0, '0x25'],
      ['irq', 0xf0, 0x1f, 0, '0x26'],
    ]);
  });

  it('a fault line without its reason still counts', () => {
    expect(one('DMAR:[DMA Read] Request device [00:02.0] fault addr 7fe00000 ')).toMatchObject({ reason: null });
  });
});

describe('AMD-Vi event variants', () => {
  it('2.6 split printk: "AMD IOMMU: Event logged [" then the event on its own line', () => {
    const f = parse('AMD IOMMU: Event logged [\nIO_PAGE_FAULT device=00:14.0 domain=0x0000 address=0x00000000fec00000 flags=0x0010]').faults;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ vendor: 'amd', segment: null, bus: 0, dev: 0x14, fn: 0, access: 'IO_PAGE_FAULT', address: '0x00000000fec00000' });
  });

  it('3.x–4.x: device= without segment', () => {
    expect(one('AMD-Vi: Event logged [IO_PAGE_FAULT device=0a:00.0 domain=0x001d address=0x000000000637c000 flags=0x0000]')).toMatchObject({ segment: null, bus: 0x0a });
  });

  it('4.19+: the device as dev_printk prefix', () => {
    expect(one('xhci_hcd 0000:47:00.1: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0032 address=0xfffffff00000 flags=0x0000]')).toMatchObject({
      segment: 0, bus: 0x47, dev: 0, fn: 1, address: '0xfffffff00000',
    });
    expect(one('vfio-pci 0000:04:10.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0037 address=0x7b657064 flags=0x0000 vflags=0x0]')).toMatchObject({ bus: 4, dev: 0x10 });
  });

  it('5.x+: device= with segment, ILLEGAL_DEV_TABLE_ENTRY from the IOMMU device', () => {
    expect(one('AMD-Vi: Event logged [IO_PAGE_FAULT device=0001:0a:00.0 domain=0x0000 address=0x1000 flags=0x0050]')).toMatchObject({ segment: 1, bus: 0x0a });
    expect(one('iommu ivhd0: AMD-Vi: Event logged [ILLEGAL_DEV_TABLE_ENTRY device=0000:00:14.0 pasid=0x00000 address=0xfffffffdf8000000 flags=0x0a00]')).toMatchObject({
      access: 'ILLEGAL_DEV_TABLE_ENTRY', segment: 0, bus: 0, dev: 0x14,
    });
  });

  it('5.x+: "Device not attached to domain properly" and its device line', () => {
    const f = parse('AMD-Vi: Event logged [Device not attached to domain properly]\nAMD-Vi:   device=0000:00:14.0 domain=0x0000').faults;
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ segment: 0, bus: 0, dev: 0x14 });
  });
});

describe('kdump and init messages', () => {
  it('Intel: copy attempt, copied, failed, not-kdump, IR, init and options', () => {
    const f = parse(
      [
        '[    0.000000] Linux version 6.1.0-26-amd64 (x)',
        '[    0.000000] Command line: BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt',
        '[    0.010000] DMAR: IOMMU enabled',
        '[    0.020000] DMAR: DRHD base: 0x000000fed90000 flags: 0x1',
        '[    0.020001] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a',
        '[    0.020002] dmar: IOMMU 1: reg_base_addr fed91000 ver 1:0 cap c0000020660462 ecap f0101a',
        '[    0.030000] DMAR-IR: Copied IR table for dmar0 from previous kernel',
        '[    0.030001] DMAR-IR: Failed to copy IR table for dmar1 from previous kernel',
        '[    0.030002] DMAR-IR: IRQ remapping was enabled on dmar2 but we are not in kdump mode',
        '[    0.030003] DMAR-IR: Enabled IRQ remapping in x2apic mode',
        '[    0.100000] DMAR: Translation already enabled - trying to copy translation structures',
        '[    0.100001] DMAR: Copied translation tables from previous kernel for dmar0',
        '[    0.100002] DMAR: Translation already enabled - trying to copy translation structures',
        '[    0.100003] DMAR: Failed to copy translation tables from previous kernel for dmar1',
        '[    0.100004] DMAR: Translation was enabled for dmar2 but we are not in kdump mode',
        '[    0.200000] DMAR: Intel(R) Virtualization Technology for Directed I/O',
        '[    0.200001] iommu: Default domain type: Passthrough (set via kernel command line)',
        '[    0.300000] DMAR: DRHD: handling fault status reg 2',
      ].join('\n'),
    );
    expect(f.complete).toBe(true);
    expect(f.kernelRelease).toBe('6.1.0-26-amd64');
    expect(f.cmdline).toBe('BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt');
    expect(f.intel.cmdline).toBe('on');
    expect([...f.intel.addresses]).toEqual([['dmar0', '0xfed90000'], ['dmar1', '0xfed91000']]);
    expect(f.intel.drhdBases).toEqual(['0xfed90000']);
    expect(f.intel.copyAttempts).toBe(2);
    expect([...f.intel.copied]).toEqual(['dmar0']);
    expect([...f.intel.copyFailed]).toEqual(['dmar1']);
    expect([...f.intel.preEnabledNotKdump]).toEqual(['dmar2']);
    expect([...f.intel.irCopied]).toEqual(['dmar0']);
    expect([...f.intel.irCopyFailed]).toEqual(['dmar1']);
    expect([...f.intel.irPreEnabledNotKdump]).toEqual(['dmar2']);
    expect(f.intel.irEnabled).toBe('x2apic');
    expect(f.intel.remappingOn).toBe(true);
    expect(f.defaultDomain).toBe('Passthrough');
    expect(f.cut).toEqual([]);
  });

  it('Intel: 2.6–3.x wordings', () => {
    const f = parse('Intel-IOMMU: disabled\nPCI-DMA: Intel(R) Virtualization Technology for Directed I/O\nIOMMU: dmar init failed');
    expect(f.intel.cmdline).toBe('off');
    expect(f.intel.remappingOn).toBe(true);
    expect(f.intel.initFailed).toBe(true);
    expect(parse('DMAR: IOMMU disabled').intel.cmdline).toBe('off');
  });

  it('AMD: copy (≤6.17) and reuse (6.18) pairs, failures, not-kdump, found, IR', () => {
    const old = parse('AMD-Vi: Translation is already enabled - trying to copy translation structures\nAMD-Vi: Copied DEV table from previous kernel.');
    expect(old.amd).toMatchObject({ copyAttempt: true, copied: true });
    const neu = parse('AMD-Vi: Translation is already enabled - trying to reuse translation structures\nAMD-Vi: Reused DEV table from previous kernel.');
    expect(neu.amd).toMatchObject({ copyAttempt: true, copied: true });
    expect(parse('AMD-Vi: Failed to copy DEV table from previous kernel.').amd.copied).toBe(false);
    expect(parse('AMD-Vi: Failed to reuse DEV table from previous kernel.').amd.copied).toBe(false);
    expect([...parse('AMD-Vi: Translation was enabled for IOMMU:1 but we are not in kdump mode').amd.preEnabledNotKdump]).toEqual(['ivhd1']);
    expect(parse('pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40').amd.found).toEqual(['0000:00:00.2']);
    expect(parse('AMD-Vi: Found IOMMU at 0000:00:00.2 cap 0x40').amd.found).toEqual(['0000:00:00.2']);
    expect(parse('AMD-Vi: Interrupt remapping enabled').amd.irEnabled).toBe(true);
    expect(parse('AMD-Vi: Re-using event/command buffer from the previous kernel').amd.buffersReused).toBe(true);
  });
});

describe('cut lines', () => {
  it('names a decisive message cut part-way and does not count it', () => {
    const f = parse('[ 0.1] DMAR: Copied translation tables from previous ker');
    expect(f.intel.copied.size).toBe(0);
    expect(f.cut).toEqual([{ n: 1, text: 'DMAR: Copied translation tables from previous ker', message: 'translation tables copied', decisive: true }]);
  });

  it('names a message whose variable part is missing', () => {
    const f = parse('DMAR: Copied translation tables from previous kernel for ');
    expect(f.cut[0]).toMatchObject({ message: 'translation tables copied', decisive: true });
  });

  it('a cut fault record is a non-decisive problem', () => {
    const f = parse('DMAR: [DMA Read NO_PASID] Request device [01:0');
    expect(f.faults).toEqual([]);
    expect(f.cut[0]).toMatchObject({ message: 'VT-d DMA fault', decisive: false });
  });

  it('AMD reuse line cut', () => {
    expect(parse('AMD-Vi: Translation is already enabled - trying to re').cut[0]).toMatchObject({ message: 'AMD translation already enabled', decisive: true });
  });

  it('unrelated lines are not cut messages', () => {
    expect(parse('usb 1-1: new high-speed USB device number 2 using xhci_hcd\nnvme nvme0: 8/0/0 default/read/poll queues').cut).toEqual([]);
  });
});

describe('reading /dev/kmsg records', () => {
  const enc = (s: string) => Buffer.from(s);
  function fakeReader(script: (string | { code: string })[]) {
    let i = 0;
    return (_fd: number, buf: Buffer): number => {
      const step = script[i++];
      if (step === undefined) throw Object.assign(new Error('again'), { code: 'EAGAIN' });
      if (typeof step !== 'string') throw Object.assign(new Error(step.code), { code: step.code });
      const b = enc(step);
      b.copy(buf);
      return b.length;
    };
  }

  it('reads until EAGAIN, one record per read', () => {
    const r = readRecords(3, fakeReader(['6,0,0,-;Linux version 6.1.0 (x)\n', '6,1,5,-;DMAR: IOMMU enabled\n']));
    expect(r.text).toBe('6,0,0,-;Linux version 6.1.0 (x)\n6,1,5,-;DMAR: IOMMU enabled');
    expect(r.firstSeq).toBe(0);
    expect(r.problems).toEqual([]);
  });

  it('EPIPE (records overwritten) is reported and skipped', () => {
    const r = readRecords(3, fakeReader(['6,100,0,-;a\n', { code: 'EPIPE' }, '6,250,0,-;b\n']));
    expect(r.text).toBe('6,100,0,-;a\n6,250,0,-;b');
    expect(r.gaps).toBe(true);
    expect(r.problems[0]).toMatch(/overwritten before they could be read \(EPIPE\)/);
  });

  it('other errors stop the read with a named problem', () => {
    const r = readRecords(3, fakeReader(['6,0,0,-;a\n', { code: 'EINVAL' }]));
    expect(r.text).toBe('6,0,0,-;a');
    expect(r.problems[0]).toMatch(/read failed after 1 records: EINVAL/);
  });

  it('a kernel that never stops logging is cut off by the time bound', () => {
    let t = 0;
    const r = readRecords(3, () => {
      const b = enc('6,1,0,-;x\n');
      return b.length;
    }, () => (t += 10));
    expect(r.problems[0]).toMatch(/stopped after \d+ records/);
  });
});

/**
 * Regression: a record any process can write to /dev/kmsg (facility user, PRI 14) claiming "Copied
 * translation tables … dmar0" made the verdict case 4. Only facility 0 (the kernel) is evidence.
 */
describe('userspace records in the kernel log', () => {
  const records = (pri: (line: string) => number, lines: string[]): string =>
    `${lines.map((l, i) => `${pri(l)},${i},${i * 1000},-;${l}`).join('\n')}\n`;
  const capture = [
    'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2',
    'Command line: console=ttyS0 reset_devices irqpoll nr_cpus=1 intel_iommu=on elfcorehdr=1654132K',
    'DMAR: IOMMU enabled',
    'DMAR: DRHD base: 0x000000fed90000 flags: 0x1',
    'DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a',
    'DMAR: Translation already enabled - trying to copy translation structures',
    'DMAR: Copied translation tables from previous kernel for dmar0',
    'DMAR: Intel(R) Virtualization Technology for Directed I/O',
  ];
  const scenario = (kmsg: string): Scenario => ({
    capture: true,
    cmdline: 'reset_devices irqpoll nr_cpus=1 intel_iommu=on',
    tables: { DMAR: qemuQ35Dmar() },
    sysfs: [{ name: 'dmar0', vendor: 'intel', address: 'fed90000', devices: q35Functions().map((f) => f.bdf) }],
    kmsg,
  });
  afterAll(cleanupRoots);

  it('drops records with a facility (PRI ≥ 8) and their dictionary lines, and says so', () => {
    const text = ['6,0,0,-;Linux version 6.1', '14,1,5,-;DMAR: Copied translation tables from previous kernel for dmar0', ' SUBSYSTEM=pci', '<14>[    1.0] DMAR: forged', '<6>[    1.1] DMAR: IOMMU enabled', '3,2,9,-;kept'].join('\n');
    const r = kernelFacilityOnly({ text, source: 'dev/kmsg', firstSeq: 0, problems: [] });
    expect(r.text).toBe(['6,0,0,-;Linux version 6.1', '<6>[    1.1] DMAR: IOMMU enabled', '3,2,9,-;kept'].join('\n'));
    expect(r.firstSeq).toBe(0);
    expect(r.problems).toEqual([expect.stringMatching(/^dev\/kmsg: 2 record\(s\) written by userspace .* ignored: only the kernel's own messages count as evidence$/)]);
    const clean = { text: '6,0,0,-;x', source: 'dev/kmsg', firstSeq: 0, problems: [] };
    expect(kernelFacilityOnly(clean)).toBe(clean);
  });

  it('the copy message from the kernel gives case 4; the same message written by userspace does not', async () => {
    const kernel = await assessScenario(scenario(records(() => 6, capture)), { readRegisters: false });
    expect(kernel.units[0]!.tablesCopied).toBe(true);
    expect(kernel.evidence).toContainEqual(expect.objectContaining({ fact: expect.stringMatching(/Copied translation tables/) }));
    const forged = await assessScenario(scenario(records((l) => (l.includes('Copied') || l.includes('Translation already') ? 14 : 6), capture)), { readRegisters: false });
    expect(forged.case).not.toBe('4');
    expect(forged.units[0]!.tablesCopied).not.toBe(true);
    expect(forged.evidence).not.toContainEqual(expect.objectContaining({ fact: expect.stringMatching(/Copied translation tables/) }));
    expect(forged.problems).toContainEqual(expect.stringMatching(/2 record\(s\) written by userspace/));
  });
});

describe('messages added for issue 13 (wording from Linux 6.18.19 sources, 6.1 and 6.12 from the e2e guests)', () => {
  it('the three separate "Re-using … from the previous kernel" lines of a 6.18 AMD kdump kernel', () => {
    const f = parse(['[    0.3] AMD-Vi: Re-using CWB buffers from the previous kernel', '[    0.3] AMD-Vi: Re-using command buffer from the previous kernel', '[    0.3] AMD-Vi: Re-using event buffer from the previous kernel'].join('\n'));
    expect([...f.amd.reusing].sort()).toEqual(['CWB buffers', 'command buffer', 'event buffer']);
    expect(f.cut).toEqual([]);
  });

  it('AMD extended features (6.12/6.18 global line, SNP flag), perf units, SNP, completion-wait timeouts', () => {
    const f = parse(
      [
        'AMD-Vi: Extended features (0xa46577efa2254afa, 0x0): PPR X2APIC NX GT IA GA PC GA_vAPIC SNP',
        'perf/amd_iommu: Detected AMD IOMMU #0 (2 banks, 4 counters/bank).',
        'perf/amd_iommu: Detected AMD IOMMU #1 (2 banks, 4 counters/bank).',
        'AMD-Vi: IOMMU SNP support enabled.',
        'AMD-Vi: Completion-Wait loop timed out',
        'AMD-Vi: Reused DEV table from previous kernel.',
      ].join('\n'),
    );
    expect(f.amd.efr).toEqual([{ efr: 0xa46577efa2254afan, snp: true }]);
    expect(f.amd.perfUnits).toEqual([0, 1]);
    expect(f.amd.snpEnabled).toBe(true);
    expect(f.amd.completionWaitTimeouts).toBe(1);
    expect(f.amd).toMatchObject({ copied: true, tableVerb: 'reused' });
  });

  it('VT-d "Failed to copy context table for bus N", SMMUv3 reset and probe, every "Command line:"', () => {
    const f = parse(
      [
        'Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1',
        'Kernel command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1',
        'DMAR: dmar1: Failed to copy context table for bus 130',
        'arm-smmu-v3 arm-smmu-v3.0.auto: ias 44-bit, oas 44-bit (features 0x00008305)',
        'arm-smmu-v3 arm-smmu-v3.0.auto: SMMU currently enabled! Resetting...',
      ].join('\n'),
    );
    expect(f.intel.contextCopyFailed.get('dmar1')).toEqual([130]);
    expect(f.smmu).toEqual({ resets: 1, probed: ['arm-smmu-v3.0.auto'] });
    expect(f.cmdlines).toHaveLength(2);
  });
});
