import type { Argument, Command, Help, Option } from 'commander';

/**
 * What the man page and the bash completion need from commander's Command objects, read once. Both are
 * generated from the same objects `--help` prints, so they cannot drift from it. Why not a library: none
 * on npm turns commander definitions into a man page (marked-man and remark-man convert Markdown), and
 * the completion helpers either need a separate binary at run time (carapace), emit another shell's
 * format (Fig specs) or are unmaintained; walking commander's public objects is about 200 lines.
 */
export interface CommandNode {
  /** Words after the program name: [] for the program, ['quirks', 'lint'] for a subcommand. */
  readonly path: readonly string[];
  readonly description: string;
  /** `[options] <bdf>` and the like, as --help shows it. */
  readonly usage: string;
  readonly options: readonly OptionInfo[];
  readonly args: readonly ArgumentInfo[];
  readonly subcommands: readonly CommandNode[];
}

export interface OptionInfo {
  /** As --help shows it: `-V, --version`, `--root <dir>`. */
  readonly flags: string;
  readonly long?: string;
  readonly short?: string;
  readonly description: string;
  /** The placeholder of the value it takes (`dir`, `file`), or undefined for a switch. */
  readonly valueName?: string;
  readonly choices?: readonly string[];
}

export interface ArgumentInfo {
  readonly name: string;
  readonly required: boolean;
  readonly variadic: boolean;
  readonly description: string;
}

function optionInfo(o: Option, help: Help): OptionInfo {
  const value = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
  return {
    flags: o.flags,
    ...(o.long ? { long: o.long } : {}),
    ...(o.short ? { short: o.short } : {}),
    // As --help words it, defaults and choices included.
    description: help.optionDescription(o),
    ...(value !== undefined ? { valueName: value.replace(/\.\.\.$/, '') } : {}),
    ...(o.argChoices ? { choices: o.argChoices } : {}),
  };
}

function argumentInfo(a: Argument): ArgumentInfo {
  return { name: a.name(), required: a.required, variadic: a.variadic, description: a.description };
}

/** The program and every command below it, with the options --help lists (hidden ones left out). */
export function commandTree(cmd: Command, path: readonly string[] = []): CommandNode {
  const help = cmd.createHelp();
  const options = help.visibleOptions(cmd).map((o) => optionInfo(o, help));
  return {
    path,
    description: cmd.description(),
    usage: cmd.usage(),
    options,
    args: cmd.registeredArguments.map(argumentInfo),
    subcommands: help
      .visibleCommands(cmd)
      .filter((c) => c.name() !== 'help')
      .map((c) => commandTree(c, [...path, c.name()])),
  };
}

/** Every node, depth first (the program first). */
export function allNodes(node: CommandNode): CommandNode[] {
  return [node, ...node.subcommands.flatMap(allNodes)];
}
