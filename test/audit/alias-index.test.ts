import { describe, expect, it } from 'vitest';
import { AliasIndex, fnmatchToRegExp, parseBuiltinModinfo, parseModulesAlias, parseModulesBuiltin } from '../../src/audit/modules/alias-index.js';

const NVME = 'pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02';

describe('module aliases (fnmatch as kmod uses it)', () => {
  it('fnmatch: *, ?, sets, negation, ranges, escapes, an unclosed [', () => {
    const m = (p: string, s: string): boolean => fnmatchToRegExp(p).test(s);
    expect(m('pci:v*d*sv*sd*bc01sc08i02*', NVME)).toBe(true);
    expect(m('pci:v*d*sv*sd*bc01sc08i01*', NVME)).toBe(false);
    expect(m('pci:v0000144Dd0000A80?sv*', NVME)).toBe(true);
    expect(m('pci:v0000144Dd0000A80[0-7]sv*', NVME)).toBe(false);
    expect(m('pci:v0000144Dd0000A80[7-9]sv*', NVME)).toBe(true);
    expect(m('pci:v0000144Dd0000A80[!8]sv*', NVME)).toBe(false);
    expect(m('pci:v0000144Dd0000A80[^0-7]sv*', NVME)).toBe(true);
    expect(m('a[b', 'a[b')).toBe(true);
    expect(m('a\\*b', 'a*b')).toBe(true);
    expect(m('a\\*b', 'axb')).toBe(false);
    expect(m('a.b', 'axb')).toBe(false);
  });

  it('parses modules.alias, modules.builtin and modules.builtin.modinfo', () => {
    const aliases = parseModulesAlias('# comment\nalias pci:v*d*sv*sd*bc01sc08i02* nvme\nalias usb:v1234p* usb-storage\nalias symbol:foo bar\n');
    expect(aliases).toEqual([
      { pattern: 'pci:v*d*sv*sd*bc01sc08i02*', module: 'nvme' },
      { pattern: 'usb:v1234p*', module: 'usb_storage' },
      { pattern: 'symbol:foo', module: 'bar' },
    ]);
    expect(parseModulesBuiltin('kernel/drivers/usb/host/xhci-pci.ko\nkernel/x.ko\n')).toEqual(['xhci_pci', 'x']);
    const modinfo = Buffer.from('ahci.alias=pci:v*d*sv*sd*bc01sc06i01*\0ahci.license=GPL\0xhci_pci.alias=pci:v*d*sv*sd*bc0Csc03i30*\0');
    expect(parseBuiltinModinfo(modinfo)).toEqual([
      { pattern: 'pci:v*d*sv*sd*bc01sc06i01*', module: 'ahci' },
      { pattern: 'pci:v*d*sv*sd*bc0Csc03i30*', module: 'xhci_pci' },
    ]);
  });

  it('the index finds vendor-specific and wildcard-vendor aliases, each module once, non-PCI skipped', () => {
    const idx = new AliasIndex().addAll(
      parseModulesAlias(
        ['alias pci:v0000144Dd0000A808sv*sd*bc*sc*i* nvme', 'alias pci:v*d*sv*sd*bc01sc08i02* nvme', 'alias pci:v00008086d*sv*sd*bc*sc*i* other', 'alias pci:v0000144Dd*sv*sd*bc*sc*i* vfio_like', 'alias usb:v*p* usbthing'].join('\n'),
      ),
    );
    expect(idx.size).toBe(4);
    expect(idx.match(NVME)).toEqual(['nvme', 'vfio_like']);
    expect(idx.match('pci:v00008086d00001572sv00008086sd00000001bc02sc00i00')).toEqual(['other']);
  });
});
