import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBuilt } from '../helpers/run-built.js';
import { tmpDir } from '../helpers/tmp-root.js';

/** The command-line conventions a newcomer meets first, checked on the built CLI (issue 15.15). */
describe('command-line conventions', () => {
  it('no arguments: the help on stdout, status 0', () => {
    const r = runBuilt([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pci-reset-agent /);
    expect(r.stderr).toBe('');
  });

  it('a usage error is one line and a hint naming the command, status 2', () => {
    const r = runBuilt(['scan', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown option '--bogus'\n(see: pci-reset-agent scan --help)\n");
    const q = runBuilt(['quirks', 'lookup', 'zz']);
    expect(q.code).toBe(2);
    expect(q.stderr.trim().split('\n')).toEqual(['pci-reset-agent: "zz": expected VVVV:DDDD or VVVV:DDDD:SVVV:SDDD (hex)', '(see: pci-reset-agent quirks lookup --help)']);
    const d = runBuilt(['apply', '--deadline', 'soon']);
    expect(d.code).toBe(2);
    expect(d.stderr.trim().split('\n')).toHaveLength(2);
  });

  it('--help states each default once', () => {
    for (const cmd of ['scan', 'iommu', 'plan', 'explain', 'apply', 'capture', 'mock', 'quirks lint', 'quirks lookup', 'quirks list', 'quirks diff-kernel']) {
      const r = runBuilt([...cmd.split(' '), '--help']);
      expect(r.code, cmd).toBe(0);
      // An option's text runs until the next option; none says its default twice, none shows an empty list.
      const options = r.stdout.split(/\n(?=  -)/);
      for (const o of options) {
        expect((o.match(/\(default\b/g) ?? []).length, `${cmd}: ${o}`).toBeLessThanOrEqual(1);
        expect(o, cmd).not.toContain('(default: [])');
      }
    }
  });

  it('iommu --kmsg naming a missing file fails, naming it', () => {
    const r = runBuilt(['iommu', '--root', 'examples/server', '--kmsg', '/nonexistent/kmsg']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pci-reset-agent: --kmsg /nonexistent/kmsg: no such file or directory (ENOENT)\n');
    expect(r.stdout).toBe('');
    const p = runBuilt(['plan', '--root', 'examples/server', '--old-log', '/nonexistent/old']);
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('--old-log /nonexistent/old');
  });

  it('quirks diff-kernel on a file that is not quirks.c says so', () => {
    const f = path.join(tmpDir(), 'garbage.quirks');
    fs.writeFileSync(f, '8086:1572 prefer=flr reason="x"\n');
    const r = runBuilt(['quirks', 'diff-kernel', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`pci-reset-agent: ${f}: does not look like drivers/pci/quirks.c (no DECLARE_PCI_FIXUP_* line, no pci_dev_reset_methods[] table)\n`);
    expect(r.stdout).toBe('');
  });

  it('every --json has the same layout: two-space indentation, one document', () => {
    const runs = [
      ['scan', '--root', 'examples/server', '--json'],
      ['iommu', '--root', 'examples/server', '--json'],
      ['plan', '--root', 'examples/server', '--json'],
      ['explain', '01:00.0', '--root', 'examples/server', '--json'],
      ['apply', '--simulate', '--virtual-time', '--assume-capture-kernel', '--root', 'examples/server', '--json'],
      ['quirks', 'lookup', '8086:1572', '--json'],
      ['quirks', 'list', '--json'],
    ];
    for (const args of runs) {
      const r = runBuilt(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(() => JSON.parse(r.stdout), args.join(' ')).not.toThrow();
      const lines = r.stdout.split('\n');
      expect(lines[0], args.join(' ')).toBe('{');
      expect(lines[1], args.join(' ')).toMatch(/^ {2}"/);
      expect(r.stdout.endsWith('}\n'), args.join(' ')).toBe(true);
    }
  });
});
