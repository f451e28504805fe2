import { EXIT } from '../../errors/exit-codes.js';
import { allNodes, type CommandNode } from './command-tree.js';

/** What each exit status means (exit-codes.ts); a Record over its keys, so a new status must be described. */
const EXIT_MEANING: Record<keyof typeof EXIT, string> = {
  OK: 'Done. For scan, problems with single functions are in the output, not in the status.',
  FAILED: 'The command could not do its job: the root is missing, the PCI listing is unreadable, a write failed.',
  USAGE: 'Bad command line.',
  APPLY_PARTIAL: 'apply: some steps failed, or a restored register did not read back; the report says which.',
  APPLY_DEADLINE: 'apply: the deadline came first; what was left is abandoned (the report says which).',
  APPLY_REFUSED_LIVE: 'apply: no capture-kernel evidence and no --allow-live: nothing was done.',
  APPLY_LOCKED: 'apply: another agent holds ROOT/run/pci-reset-agent/apply.lock: nothing was done.',
  AUDIT_AT_RISK: 'audit: something can make a crash dump fail (a device keeps doing DMA, IOMMU case 3a/3b predicted, the kdump image missing or unreadable, too little crashkernel memory); the report says what.',
};

/** Text for roff: backslashes doubled, minus signs escaped, no line starting with a control character. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

/** `--root <dir>` as bold flag and italic placeholder. */
function flagsRoff(flags: string): string {
  return flags
    .split(/(<[^>]+>|\[[^\]]+\])/)
    .filter((p) => p !== '')
    .map((p) => (/^[<[]/.test(p) ? `\\fI${roff(p)}\\fR` : `\\fB${roff(p)}\\fR`))
    .join('');
}

function commandSection(node: CommandNode, program: string): string[] {
  const out: string[] = [];
  const name = node.path.join(' ');
  out.push(`.SS "${roff(name)}"`);
  out.push(`\\fB${roff(`${program} ${name}`)}\\fR ${roff(node.usage)}`);
  out.push('.br');
  out.push(roff(node.description));
  for (const a of node.args.filter((x) => x.description)) {
    out.push('.TP', `\\fI${roff(a.name)}\\fR`, roff(a.description));
  }
  for (const o of node.options) out.push('.TP', flagsRoff(o.flags), roff(o.description));
  if (node.subcommands.length > 0) {
    out.push('.PP', `Subcommands: ${node.subcommands.map((s) => `\\fB${roff(s.path.at(-1)!)}\\fR`).join(', ')}.`);
  }
  return out;
}

export interface ManPageInput {
  readonly tree: CommandNode;
  readonly program: string;
  readonly version: string;
}

/** pci-reset-agent(8), from the commander definitions (and exit-codes.ts), in roff. */
export function manPage({ tree, program, version }: ManPageInput): string {
  const lines: string[] = [
    `.\\" Generated from the CLI's commander definitions by src/cli/reference (npm run package:deb); do not edit.`,
    `.TH ${roff(program.toUpperCase())} 8 "" "${roff(`${program} ${version}`)}" "System Administration"`,
    '.SH NAME',
    `${roff(program)} \\- ${roff(tree.description)}`,
    '.SH SYNOPSIS',
    `\\fB${roff(program)}\\fR \\fIcommand\\fR [\\fIoptions\\fR]`,
    '.br',
    `\\fB${roff(program)}\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR`,
    '.SH DESCRIPTION',
    roff(
      `${program} stops stale DMA before a Linux crash-dump (kdump) kernel's drivers wake up. In the capture kernel, ` +
        'before udev loads drivers, it scans PCI, decides from the IOMMU state whether devices left running by the crashed ' +
        'kernel can harm the dump, and resets them, saving and restoring their configuration space. On a live system every ' +
        'command is read-only unless forced.',
    ),
    '.PP',
    roff(
      'In a kdump image it runs once, from /usr/libexec/pci-reset-agent/pci-reset-agent-kdump (the dracut module ' +
        '95pci-reset-agent or the initramfs-tools hook add it), which never fails the dump: it always exits 0, is ' +
        'bounded by a timeout and does nothing without /proc/vmcore.',
    ),
    '.SH OPTIONS',
    ...tree.options.flatMap((o) => ['.TP', flagsRoff(o.flags), roff(o.description)]),
    '.SH COMMANDS',
    ...allNodes(tree)
      .slice(1)
      .flatMap((n) => commandSection(n, program)),
    '.SH EXIT STATUS',
    ...(Object.keys(EXIT) as Array<keyof typeof EXIT>).flatMap((k) => ['.TP', `\\fB${EXIT[k]}\\fR`, roff(EXIT_MEANING[k])]),
    '.SH FILES',
    '.TP',
    '\\fI/etc/pci\\-reset\\-agent/kdump.conf\\fR',
    roff('Settings of the kdump runner (PRA_ENABLE, PRA_ARGS, PRA_TIMEOUT, PRA_NODE_OPTIONS); copied into the kdump image when it is built.'),
    '.TP',
    '\\fI/etc/pci\\-reset\\-agent/quirks.d/*.quirks\\fR',
    roff("The administrator's quirk tables, read after the built-in table; copied into the kdump image."),
    '.TP',
    '\\fI/usr/lib/pci\\-reset\\-agent/\\fR',
    roff('The single-file agent and koffi.node.'),
    '.TP',
    '\\fI/run/pci\\-reset\\-agent/report.json\\fR',
    roff("In the capture kernel: apply's report; the runner's log is kdump.log beside it."),
    '.SH NOTES',
    roff(
      'The kdump image picks up a new or changed agent, table or setting only when it is rebuilt: kdump-config reload ' +
        '(Debian, Ubuntu) or kdumpctl rebuild (Fedora, RHEL). The footprint command says how much the agent adds to ' +
        'the image and the crashkernel= size measured to work with it.',
    ),
    '.SH SEE ALSO',
    '\\fBkdump\\-config\\fR(8), \\fBkdumpctl\\fR(8), \\fBdracut\\fR(8), \\fBinitramfs\\-tools\\fR(7), \\fBlspci\\fR(8)',
    '',
  ];
  return lines.join('\n');
}
