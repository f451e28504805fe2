import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../helpers/run-cli.js';
import { buildProgram } from '../../../src/cli/main.js';
import { commandTree } from '../../../src/cli/reference/command-tree.js';
import { manPage } from '../../../src/cli/reference/man-page.js';
import { bashCompletion } from '../../../src/cli/reference/bash-completion.js';
import { tmpDir } from '../../helpers/tmp-root.js';

/** What --help lists: the names under "Commands:" and the flags under "Options:". */
function parseHelp(text: string): { commands: string[]; flags: string[] } {
  const section = (title: string) => {
    const m = new RegExp(`^${title}:\\n((?:  .*\\n?)*)`, 'm').exec(text);
    return m ? m[1]!.split('\n').filter((l) => /^  \S/.test(l)) : [];
  };
  return {
    commands: section('Commands').map((l) => l.trim().split(/\s/)[0]!).filter((c) => c !== 'help'),
    flags: section('Options').map((l) => l.trim().split(/\s{2,}/)[0]!),
  };
}

/** The man page as a reader sees it: roff escapes and font changes undone. */
function plain(roffText: string): string {
  return roffText.replace(/\\f[BIR]/g, '').replace(/\\-/g, '-').replace(/\\e/g, '\\').replace(/\\&/g, '');
}

async function generated() {
  const program = await buildProgram();
  const tree = commandTree(program);
  return { tree, man: manPage({ tree, program: 'pci-reset-agent', version: program.version() ?? '' }) };
}

describe('pci-reset-agent(8), generated from the commander definitions', () => {
  it('every command and every option --help lists is in the man page, with its --help description', async () => {
    const { man } = await generated();
    const text = plain(man);
    const seen: string[] = [];
    const walk = async (words: string[]) => {
      const r = await runCli([...words, '--help']);
      const { commands, flags } = parseHelp(r.stdout);
      for (const f of flags) {
        expect(text, `${words.join(' ')} ${f}`).toContain(f);
        seen.push(`${words.join(' ')} ${f}`);
      }
      for (const c of commands) {
        expect(text, c).toContain(`.SS "${[...words, c].join(' ')}"`);
        await walk([...words, c]);
      }
    };
    await walk([]);
    // The walk reached the subcommands too (quirks lint, ...), and many options.
    expect(seen.some((s) => s.startsWith('quirks lint '))).toBe(true);
    expect(seen.length).toBeGreaterThan(40);
    // Descriptions as --help words them (defaults included).
    expect(text).toMatch(/directory that stands in for \/ \(default: "\/"\)/);
  });

  it('has the sections a man page needs and every exit status', async () => {
    const { man } = await generated();
    for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'COMMANDS', 'EXIT STATUS', 'FILES', 'SEE ALSO']) expect(man).toContain(`.SH ${s}`);
    for (const n of [0, 1, 2, 3, 4, 5, 6]) expect(man).toContain(`.TP\n\\fB${n}\\fR`);
    expect(man.split('\n').filter((l) => /^[.']/.test(l) && !/^\.(TH|SH|SS|TP|PP|br|\\")( |$)/.test(l))).toEqual([]);
  });

  it.skipIf(spawnSync('sh', ['-c', 'command -v man'], { stdio: 'ignore' }).status !== 0)('man renders it without warnings', async () => {
    const { man } = await generated();
    const f = path.join(tmpDir(), 'pci-reset-agent.8');
    fs.writeFileSync(f, man);
    const r = spawnSync('man', ['--warnings=all', '-l', f], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MAN_KEEP_STDERR: '1' } });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/pci-reset-agent scan \[options\]/);
  });
});

describe('bash completion, generated from the commander definitions', () => {
  // Runs the generated script in bash with COMP_WORDS set as bash would, and returns COMPREPLY.
  async function complete(words: string[]): Promise<string[]> {
    const { tree } = await generated();
    const script = bashCompletion(tree, 'pci-reset-agent');
    const f = path.join(tmpDir(), 'completion.bash');
    fs.writeFileSync(f, script);
    const arr = words.map((w) => `'${w}'`).join(' ');
    const r = spawnSync('bash', ['-c', `. ${f}; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _pci_reset_agent; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean);
  }

  it('completes commands, subcommands and each command’s own options', async () => {
    expect(await complete(['pci-reset-agent', ''])).toEqual(expect.arrayContaining(['scan', 'plan', 'apply', 'quirks']));
    expect(await complete(['pci-reset-agent', 'quirks', ''])).toEqual(expect.arrayContaining(['lint', 'lookup', 'list', 'diff-kernel']));
    expect(await complete(['pci-reset-agent', 'plan', '--ex'])).toEqual(['--exclude']);
    expect(await complete(['pci-reset-agent', 'plan', '--root', '/tmp', '--js'])).toEqual(['--json']);
    expect(await complete(['pci-reset-agent', 'quirks', 'lint', '--ro'])).toEqual(['--root']);
  });

  it('completes directories after --root', async () => {
    const r = await complete(['pci-reset-agent', 'scan', '--root', '/us']);
    expect(r).toContain('/usr');
  });
});
