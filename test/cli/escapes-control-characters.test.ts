import { describe, expect, it } from 'vitest';
import { MockTree } from '../../src/mock/tree-builder.js';
import { printable, textBlock } from '../../src/text/escape.js';
import { runBuilt } from '../helpers/run-built.js';
import { tmpDir } from '../helpers/tmp-root.js';

const ESC = '\u001b';
/** A driver name that would colour the terminal red and forge a kernel-log line. */
const EVIL_DRIVER = `e1000e${ESC}[31mRED\n<0>KERNEL PANIC`;
const EVIL_UNIT = `dmar0${ESC}[2J\r`;

function hostileRoot(): string {
  const dir = tmpDir();
  const tree = new MockTree()
    .add({ bdf: '0000:00:00.0', vendor: 0x8086, device: 0x29c0, classCode: 0x060000 })
    .add({ bdf: '0000:00:01.0', vendor: 0x1b36, device: 0x000c, classCode: 0x060400, bridge: { secondaryBus: 1, subordinateBus: 1 }, pcie: { type: 'root_port', dllla: true }, pm: { version: 3 }, driver: 'pcieport' })
    .add({ bdf: '0000:01:00.0', parent: '0000:00:01.0', vendor: 0x8086, device: 0x10d3, classCode: 0x020000, pcie: { type: 'endpoint', flr: true }, pm: { version: 3 }, msix: true, driver: EVIL_DRIVER });
  tree.file('proc/cmdline', 'console=ttyS0 elfcorehdr=1654132K\n');
  tree.file('proc/vmcore', '');
  tree.file(`sys/devices/virtual/iommu/${EVIL_UNIT}/uevent`, '');
  tree.link(`sys/class/iommu/${EVIL_UNIT}`, `../../devices/virtual/iommu/${EVIL_UNIT}`);
  tree.write(dir);
  return dir;
}

describe('control characters from the machine never reach the terminal raw (issue 11.11)', () => {
  it('printable() makes every control character a visible escape, and leaves text alone', () => {
    expect(printable('nvme')).toBe('nvme');
    expect(printable('a\u001b[31mb\nc\rd\u009be\u202ef\u007f')).toBe('a\\x1b[31mb\\x0ac\\x0dd\\x9be\\u202ef\\x7f');
    expect(textBlock(['one', 'two\nthree'])).toBe('one\ntwo\\x0athree\n');
  });

  it('scan, iommu, plan, explain and apply print driver and IOMMU unit names escaped', () => {
    const root = hostileRoot();
    const runs = [
      ['scan', '--root', root],
      ['iommu', '--root', root, '--no-registers'],
      ['plan', '--root', root, '--no-registers', '--all'],
      ['explain', '01:00.0', '--root', root, '--no-registers'],
      ['apply', '--simulate', '--virtual-time', '--root', root, '--no-registers', '--all'],
    ];
    for (const args of runs) {
      const r = runBuilt(args);
      const name = args.slice(0, 2).join(' ');
      expect(r.code, `${name}: ${r.stderr}`).toBeLessThan(4);
      // No raw ESC, CR or any other control byte except the line ends, on either stream.
      for (const [stream, text] of [['stdout', r.stdout], ['stderr', r.stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n')]] as const) {
        expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(text), `${name} ${stream}: ${JSON.stringify(text)}`).toBe(false);
        // The forged line never starts a line of its own.
        expect(text.split('\n').some((l) => l.startsWith('<0>')), `${name} ${stream}`).toBe(false);
      }
    }
    const scan = runBuilt(['scan', '--root', root]);
    expect(scan.stdout).toContain('[e1000e\\x1b[31mRED\\x0a<0>KERNEL PANIC]');
    const iommu = runBuilt(['iommu', '--root', root, '--no-registers']);
    expect(iommu.stdout).toContain('dmar0\\x1b[2J\\x0d');
  });
});

