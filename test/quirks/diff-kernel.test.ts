import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffKernel } from '../../src/quirks/diff-kernel.js';
import { readDefines, readKernelQuirks } from '../../src/quirks/kernel-source.js';
import { defaultTable } from '../../src/quirks/load.js';

const EXCERPT = fs.readFileSync(new URL('./fixtures/quirks-6.18.19-excerpt.c', import.meta.url), 'utf8');

function diff(text: string, symbols: Record<string, number> = {}) {
  const k = readKernelQuirks(text, symbols);
  return { ...diffKernel(defaultTable(), k.quirks, 'quirks.c'), kernel: k };
}

/** Replace line n (1-based) of the excerpt. */
function setLine(text: string, n: number, line: string): string {
  const lines = text.split('\n');
  lines[n - 1] = line;
  return lines.join('\n');
}

describe('quirks diff-kernel on a quirks.c excerpt written from the reference data', () => {
  it('reads every reset quirk of 6.18.19 and finds the default table complete and current', () => {
    const r = diff(EXCERPT);
    expect(r.kernel.problems).toEqual([]);
    expect(r.kernel.quirks).toHaveLength(90);
    expect(r.matched).toBe(90);
    expect(r.items).toEqual([]);
  });

  it('reads the effects off the hooks: flags, delays, conditions, device-specific resets', () => {
    const q = readKernelQuirks(EXCERPT).quirks;
    const at = (line: number) => q.find((x) => x.line === line)!;
    expect(at(3785)).toMatchObject({ fn: 'quirk_nvidia_no_bus_reset', vendor: 0x10de, device: null, effect: { noBus: true }, condition: { deviceMask: { mask: 0xffc0, value: 0x2340 } } });
    expect(at(3847)).toMatchObject({ fn: 'quirk_no_pm_reset', vendor: 0x1002, cls: { value: 0x0300, shift: 8 }, condition: { rootBus: false } });
    expect(at(2071)).toMatchObject({ effect: { d3hotMs: 20 }, condition: { subsystemVendor: 0x106b, subsystemDevice: 0x00e2 } });
    expect(at(2033).effect).toEqual({ d3hotGlobalMs: 120 });
    expect(at(6367).effect).toEqual({ d3coldMs: 1000 });
    expect(at(5608).condition).toEqual({ revision: 1 });
    expect(at(4251)).toMatchObject({ mechanism: 'pci_dev_reset_methods[]', fn: 'reset_ivb_igd', vendor: 0x8086, device: 0x0156 });
    expect(at(4261)).toMatchObject({ fn: 'reset_hinic_vf_dev', device: 0x375e });
    expect(at(95)).toMatchObject({ mechanism: 'ids[]', fn: 'pcie_failed_link_retrain', vendor: 0x1b21, device: 0x2824 });
  });

  it('a new quirk the table lacks, with an entry to start from', () => {
    const r = diff(setLine(EXCERPT, 3801, 'DECLARE_PCI_FIXUP_HEADER(PCI_VENDOR_ID_ATHEROS, 0x0042, quirk_no_bus_reset);'));
    expect(r.items.map((i) => i.kind)).toEqual(['missing']);
    expect(r.items[0]!.message).toBe('quirks.c:3801: quirk_no_bus_reset (DECLARE_PCI_FIXUP_HEADER) for 168c:0042 is not in the table');
    expect(r.items[0]!.suggestion).toBe('168c:0042  no_bus  kernel=quirk_no_bus_reset\n    reason="quirk_no_bus_reset, quirks.c:3801: <what the kernel comment says>"');
  });

  it('a new hook the diff has never heard of is found by what its body does', () => {
    let text = setLine(EXCERPT, 5000, 'static void quirk_new_flr_hang(struct pci_dev *dev) { dev->dev_flags |= PCI_DEV_FLAGS_NO_FLR_RESET; }');
    text = setLine(text, 5001, 'DECLARE_PCI_FIXUP_EARLY(PCI_VENDOR_ID_INTEL, 0xabcd, quirk_new_flr_hang);');
    text = setLine(text, 5002, 'DECLARE_PCI_FIXUP_FINAL(PCI_VENDOR_ID_INTEL, 0xabce, quirk_unrelated_fixup);');
    const r = diff(text);
    expect(r.items.map((i) => i.message)).toEqual(['quirks.c:5001: quirk_new_flr_hang (DECLARE_PCI_FIXUP_EARLY) for 8086:abcd is not in the table']);
  });

  it('a quirk that changed: the delay and the class', () => {
    let text = EXCERPT.replace('static void quirk_nvidia_hda_pm(struct pci_dev *dev)\n{\n\tquirk_d3hot_delay(dev, 20);', 'static void quirk_nvidia_hda_pm(struct pci_dev *dev)\n{\n\tquirk_d3hot_delay(dev, 50);');
    text = text.replace('PCI_CLASS_DISPLAY_VGA, 8, quirk_no_pm_reset', '0x0380, 8, quirk_no_pm_reset');
    const r = diff(text);
    expect(r.items.map((i) => i.kind)).toEqual(['different', 'different']);
    expect(r.items[0]!.message).toContain('quirks.c:2082: quirk_nvidia_hda_pm for 10de:* class=0403: the kernel says d3hot=50ms, the entry d3hot=20ms');
    expect(r.items[1]!.message).toContain('quirks.c:3847: quirk_no_pm_reset');
    expect(r.items[1]!.message).toContain('the kernel applies it to class 038000/ffff00, the entry to 030000/ffff00');
  });

  it('a quirk the kernel dropped', () => {
    const r = diff(setLine(EXCERPT, 3807, ''));
    expect(r.items.map((i) => i.kind)).toEqual(['removed']);
    expect(r.items[0]!.message).toMatch(/^default\.quirks:\d+ 177d:a100 mirrors quirk_no_bus_reset, but the file has no such quirk for this match/);
  });

  it('lines that moved are reported apart (same quirks, citations out of date)', () => {
    const r = diff(`/* three new lines */\n\n\n${EXCERPT}`);
    expect(r.matched).toBe(90);
    expect(r.items.every((i) => i.kind === 'moved')).toBe(true);
    expect(r.items).toHaveLength(90);
    expect(r.items.find((i) => i.fn === 'quirk_no_flr_snet')!.message).toBe(
      'default.quirks:' + defaultTable().entries.find((e) => e.kernel === 'quirk_no_flr_snet')!.line + ' cites drivers/pci/quirks.c:5608; quirk_no_flr_snet for d063:1000 rev=01 is now at line 5611',
    );
  });

  it('macros come from pci_ids.h when given; what cannot be resolved is reported', () => {
    const text = setLine(EXCERPT, 3807, 'DECLARE_PCI_FIXUP_HEADER(PCI_VENDOR_ID_NEWCO, 0xa100, quirk_no_bus_reset);');
    const without = diff(text);
    expect(without.kernel.problems).toEqual(['quirks.c:3807: cannot resolve PCI_VENDOR_ID_NEWCO (give --pci-ids PATH/include/linux/pci_ids.h)']);
    const ids = readDefines('#define PCI_VENDOR_ID_NEWCO\t\t0x177d\n#define PCI_DEVICE_ID_X 1234\n');
    expect(ids).toEqual({ PCI_VENDOR_ID_NEWCO: 0x177d, PCI_DEVICE_ID_X: 1234 });
    const withIds = diff(text, ids);
    expect(withIds.kernel.problems).toEqual([]);
    expect(withIds.items).toEqual([]);
  });

  it('commented-out quirks do not count', () => {
    const r = diff(setLine(EXCERPT, 3807, '/* DECLARE_PCI_FIXUP_HEADER(PCI_VENDOR_ID_CAVIUM, 0xa100, quirk_no_bus_reset); */'));
    expect(r.items.map((i) => i.kind)).toEqual(['removed']);
  });
});
