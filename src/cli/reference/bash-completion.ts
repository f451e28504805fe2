import { allNodes, type CommandNode } from './command-tree.js';

/** Placeholders whose values are paths: files, or directories only. */
const DIR_VALUES = /^(dir|root|directory|outdir|out)$/i;
const FILE_VALUES = /(file|path|quirks\.c|table|log)/i;

function valueKind(name: string | undefined): 'dir' | 'file' | 'none' {
  if (name === undefined) return 'none';
  if (DIR_VALUES.test(name)) return 'dir';
  if (FILE_VALUES.test(name)) return 'file';
  return 'none';
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A bash completion script for the program, from the commander definitions: command and subcommand
 * names, each command's options, file or directory names after options that take paths (and for
 * commands whose arguments are files). Plain bash, no bash-completion helpers needed.
 */
export function bashCompletion(tree: CommandNode, program: string): string {
  const fn = `_${program.replace(/[^A-Za-z0-9]/g, '_')}`;
  const cases: string[] = [];
  for (const node of allNodes(tree)) {
    const key = node.path.join(' ');
    const opts = node.options.flatMap((o) => [o.short, o.long].filter((x): x is string => x !== undefined));
    const subs = node.subcommands.map((s) => s.path.at(-1)!);
    const dirOpts = node.options.filter((o) => valueKind(o.valueName) === 'dir').flatMap((o) => [o.short, o.long].filter(Boolean));
    const fileOpts = node.options.filter((o) => valueKind(o.valueName) === 'file').flatMap((o) => [o.short, o.long].filter(Boolean));
    const valueOpts = node.options.filter((o) => o.valueName !== undefined && valueKind(o.valueName) === 'none').flatMap((o) => [o.short, o.long].filter(Boolean));
    const fileArgs = node.args.some((a) => valueKind(a.name) === 'file' || /files?$/.test(a.name)) ? 'yes' : 'no';
    cases.push(
      `        ${q(key)})`,
      `            opts=${q(opts.join(' '))} subs=${q(subs.join(' '))}`,
      `            dir_opts=${q(dirOpts.join(' '))} file_opts=${q(fileOpts.join(' '))} value_opts=${q(valueOpts.join(' '))} file_args=${fileArgs} ;;`,
    );
  }
  return [
    `# bash completion for ${program}: generated from the CLI's commander definitions by src/cli/reference`,
    '# (npm run package:deb); do not edit.',
    `${fn}() {`,
    '    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}',
    '    local path="" i w opts subs dir_opts file_opts value_opts file_args',
    '    # The command path: words naming (sub)commands, skipping options and their values.',
    '    for ((i = 1; i < COMP_CWORD; i++)); do',
    '        w=${COMP_WORDS[i]}',
    '        [[ $w == -* ]] && continue',
    `        ${fn}_node "$path"`,
    '        if [[ " $subs " == *" $w "* ]]; then path=${path:+$path }$w; fi',
    '    done',
    `    ${fn}_node "$path"`,
    '    if [[ " $dir_opts " == *" $prev "* ]]; then mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return; fi',
    '    if [[ " $file_opts " == *" $prev "* ]]; then mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return; fi',
    '    if [[ " $value_opts " == *" $prev "* ]]; then COMPREPLY=(); return; fi',
    '    if [[ $cur == -* ]]; then mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur"); return; fi',
    '    if [[ -n $subs ]]; then mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur"); return; fi',
    '    if [[ $file_args == yes ]]; then mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return; fi',
    '    COMPREPLY=()',
    '}',
    `${fn}_node() {`,
    '    case "$1" in',
    ...cases,
    '        *) opts="" subs="" dir_opts="" file_opts="" value_opts="" file_args=no ;;',
    '    esac',
    '}',
    `complete -F ${fn} ${program}`,
    '',
  ].join('\n');
}
