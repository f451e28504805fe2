import { describe, expect, it } from 'vitest';
import { Root } from '../../src/access/root.js';
import { KDUMP_TOOLS_DEFAULT_APPEND, KDUMP_UTILS_DEFAULT_APPEND_X86_64, readKdumpSetup } from '../../src/audit/kdump-config/kdump-setup.js';
import { parseShellVars } from '../../src/audit/kdump-config/shell-vars.js';
import { MockTree } from '../../src/mock/tree-builder.js';
import { tmpDir } from '../helpers/tmp-root.js';

const PROC = 'BOOT_IMAGE=/vmlinuz-6.12.0 root=UUID=abc ro quiet crashkernel=384M-:128M hugepages=16 amd_iommu=on';

function rootWith(files: Record<string, string>): Root {
  const dir = tmpDir();
  const t = new MockTree();
  for (const [k, v] of Object.entries(files)) t.file(k, v);
  t.write(dir);
  return new Root(dir);
}

describe('kdump configuration', () => {
  it('shell assignments: quotes, comments, export, expansions reported', () => {
    const v = parseShellVars('# c\nA=1\nexport B="x y" # tail\nC=\'q $X\'\nD="$E f"\n  #F=no\n', 'f');
    expect([...v.values]).toEqual([['A', '1'], ['B', 'x y'], ['C', 'q $X'], ['D', '$E f']]);
    expect(v.unsure).toEqual(['f:5: D uses a shell expansion; taken literally']);
  });

  it('kdump-tools: /proc/cmdline without crashkernel/hugepages plus the default append (also when set empty)', () => {
    for (const conf of ['USE_KDUMP=1\n', 'USE_KDUMP=1\nKDUMP_CMDLINE_APPEND=""\n']) {
      const s = readKdumpSetup(rootWith({ 'etc/default/kdump-tools': conf }), { release: '6.12.0', procCmdline: PROC });
      expect(s.tool).toBe('kdump-tools');
      expect(s.cmdline!.map((w) => w.word).join(' ')).toBe(`BOOT_IMAGE=/vmlinuz-6.12.0 root=UUID=abc ro quiet amd_iommu=on ${KDUMP_TOOLS_DEFAULT_APPEND}`);
      expect(s.cmdline!.at(-1)!.from).toBe('kdump-config default KDUMP_CMDLINE_APPEND');
      expect(s.imageCandidates).toEqual(['var/lib/kdump/initrd.img', 'var/lib/kdump/initrd.img-6.12.0']);
    }
  });

  it('kdump-tools: KDUMP_CMDLINE replaces /proc/cmdline, KDUMP_CMDLINE_APPEND is named as the source of its words', () => {
    const s = readKdumpSetup(rootWith({ 'etc/default/kdump-tools': 'KDUMP_CMDLINE="root=/dev/sda1 ro"\nKDUMP_CMDLINE_APPEND="reset_devices amd_iommu=off"\nKDUMP_INITRD=/boot/kdump.img\n' }), { release: '6.12.0', procCmdline: PROC });
    expect(s.cmdline).toEqual([
      { word: 'root=/dev/sda1', from: 'etc/default/kdump-tools KDUMP_CMDLINE' },
      { word: 'ro', from: 'etc/default/kdump-tools KDUMP_CMDLINE' },
      { word: 'reset_devices', from: 'etc/default/kdump-tools KDUMP_CMDLINE_APPEND' },
      { word: 'amd_iommu=off', from: 'etc/default/kdump-tools KDUMP_CMDLINE_APPEND' },
    ]);
    expect(s.imageCandidates[0]).toBe('boot/kdump.img');
  });

  it('kdump-utils: prepare_cmdline() removals, the sysconfig append, disable_cpu_apicid and gpt_auto', () => {
    const root = rootWith({
      'etc/sysconfig/kdump': 'KDUMP_COMMANDLINE=""\nKDUMP_COMMANDLINE_REMOVE="hugepages hugepagesz slub_debug quiet"\nKDUMP_COMMANDLINE_APPEND="irqpoll nr_cpus=1 reset_devices"\n',
      'etc/kdump.conf': 'path /var/crash\n',
      'proc/cpuinfo': 'processor\t: 0\napicid\t\t: 4\n\nprocessor\t: 1\napicid\t\t: 6\n',
    });
    const s = readKdumpSetup(root, { release: '6.12.0', procCmdline: PROC });
    expect(s.tool).toBe('kdump-utils');
    expect(s.configFiles).toEqual(['etc/sysconfig/kdump', 'etc/kdump.conf']);
    expect(s.cmdline!.map((w) => w.word).join(' ')).toBe('BOOT_IMAGE=/vmlinuz-6.12.0 ro amd_iommu=on irqpoll nr_cpus=1 reset_devices disable_cpu_apicid=4 rd.systemd.gpt_auto=no');
    expect(s.imageCandidates).toEqual(['boot/initramfs-6.12.0kdump.img', 'var/lib/kdump/initramfs-6.12.0kdump.img']);
  });

  it('kdump-utils without a sysconfig file: the shipped x86_64 defaults, said so', () => {
    const s = readKdumpSetup(rootWith({ 'etc/kdump.conf': '' }), { release: '6.12.0', procCmdline: 'ro' });
    expect(s.cmdline!.map((w) => w.word).join(' ')).toBe(`ro ${KDUMP_UTILS_DEFAULT_APPEND_X86_64} rd.systemd.gpt_auto=no`);
    expect(s.notes.join('\n')).toMatch(/shipped x86_64 defaults assumed/);
  });

  it('no tooling: the command line is unknown unless given', () => {
    const root = rootWith({ 'etc/hostname': 'x\n' });
    expect(readKdumpSetup(root, { release: '6.12.0', procCmdline: PROC }).cmdline).toBeNull();
    expect(readKdumpSetup(root, { release: '6.12.0', procCmdline: PROC, cmdlineOverride: 'a b' }).cmdline!.map((w) => w.word)).toEqual(['a', 'b']);
  });
});
