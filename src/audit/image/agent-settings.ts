/**
 * What the agent inside a kdump image will do with its own settings, which are the image's, not the
 * host's: the image's /etc/pci-reset-agent/kdump.conf (PRA_ENABLE, PRA_ARGS, read by the runner,
 * systemd/dracut/95pci-reset-agent/pci-reset-agent-kdump.sh), rd.pci_reset_agent=0 on the capture
 * kernel's command line, and the quirk tables the image carries (the capture kernel's agent reads
 * /etc/pci-reset-agent/quirks.d inside the image; the host's change nothing until the image is rebuilt).
 */
import { parseShellVars } from '../kdump-config/shell-vars.js';
import { parseSelectors, SelectorError } from '../../plan/policy.js';

/** The files an image's agent reads its settings from. */
export const AGENT_SETTINGS_FILE = /^etc\/pci-reset-agent\/(?:kdump\.conf|quirks\.d\/[^/]+\.quirks)$/;
const KDUMP_CONF = 'etc/pci-reset-agent/kdump.conf';

export interface ImageAgentSettings {
  /** False when the runner will not start the agent at all. */
  enabled: boolean;
  /** What disables it: `PRA_ENABLE=no in …kdump.conf`, `rd.pci_reset_agent=0 on the capture command line`. */
  disabledBy: string | null;
  /** PRA_ARGS, split as the runner's unquoted `$PRA_ARGS` splits it. */
  args: string[];
  /** `--exclude` and `--only` selectors from PRA_ARGS, modelled in the audit's plan. */
  exclude: string[];
  only: string[];
  /** `--all` in PRA_ARGS: resets in IOMMU case 1 too. */
  all: boolean;
  /** Other PRA_ARGS words (deadline, log options): they do not change which functions are reset. */
  notModelled: string[];
  /** The image's quirk tables, in the order the agent reads them (lexical). */
  quirkTables: { name: string; text: string }[];
  notes: string[];
}

/** `files`: the image's settings files by path inside the image; `cmdline`: the capture kernel's words, when known. */
export function imageAgentSettings(files: Map<string, Buffer>, cmdline: string[] | null, imageLabel: string): ImageAgentSettings {
  const notes: string[] = [];
  const conf = files.get(KDUMP_CONF)?.toString('utf8') ?? null;
  const vars = conf === null ? null : parseShellVars(conf, `${imageLabel}:/${KDUMP_CONF}`);
  for (const line of vars?.unsure ?? []) notes.push(`${imageLabel}:/${KDUMP_CONF}: ${line}: depends on the shell, not modelled`);
  const enable = vars?.values.get('PRA_ENABLE') ?? 'yes';
  const args = (vars?.values.get('PRA_ARGS') ?? '').split(/\s+/).filter((w) => w !== '');
  let disabledBy: string | null = null;
  // The runner's order (pra_main): the command line first, then PRA_ENABLE's values no|0|false.
  if (cmdline?.includes('rd.pci_reset_agent=0')) disabledBy = 'rd.pci_reset_agent=0 on the capture command line';
  else if (['no', '0', 'false'].includes(enable)) disabledBy = `PRA_ENABLE=${enable} in the image's /${KDUMP_CONF}`;
  const exclude: string[] = [];
  const only: string[] = [];
  const notModelled: string[] = [];
  let all = false;
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w === '--all') {
      all = true;
      continue;
    }
    const m = /^--(exclude|only)(?:=(.*))?$/.exec(w);
    if (!m) {
      notModelled.push(w);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) {
      notes.push(`PRA_ARGS in the image's /${KDUMP_CONF}: --${m[1]} without a value (the agent would refuse to start)`);
      continue;
    }
    try {
      parseSelectors([value]);
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      notes.push(`PRA_ARGS in the image's /${KDUMP_CONF}: --${m[1]} ${value}: ${err.message} (the agent would refuse to start)`);
      continue;
    }
    (m[1] === 'exclude' ? exclude : only).push(value);
  }
  const quirkTables = [...files.keys()]
    .filter((n) => n !== KDUMP_CONF)
    .sort()
    .map((name) => ({ name, text: files.get(name)!.toString('utf8') }));
  return { enabled: disabledBy === null, disabledBy, args, exclude, only, all, notModelled, quirkTables, notes };
}
