import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from '../helpers/run-cli.js';

const ALL = ['scan', 'capture', 'mock', 'iommu', 'plan', 'explain', 'quirks', 'apply', 'footprint', 'audit'];

const names = (p: Command): string[] => p.commands.map((c) => c.name());
/** What a command accepts, to compare a command loaded alone with the same one in the whole program. */
const shape = (c: Command): unknown => ({
  name: c.name(),
  description: c.description(),
  args: c.registeredArguments.map((a) => a.name()),
  options: c.options.map((o) => o.flags),
  commands: c.commands.map((s) => shape(s)),
});

describe('buildProgram loads only the command a run needs', () => {
  it('with no command: every command, in the order --help shows them', async () => {
    expect(names(await buildProgram())).toEqual(ALL);
  });

  it('a command name: that command alone, the same as in the whole program', async () => {
    const whole = await buildProgram();
    for (const name of ALL) {
      const alone = await buildProgram(name);
      expect(names(alone), name).toEqual([name]);
      expect(shape(alone.commands[0]!)).toEqual(shape(whole.commands.find((c) => c.name() === name)!));
    }
  });

  it('anything else (a mistake, an option, help, an Object.prototype name): every command', async () => {
    for (const word of ['nonsense', 'Scan', 'sacn', '--help', '-V', 'help', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(names(await buildProgram(word)), JSON.stringify(word)).toEqual(ALL);
    }
  });

  it('the program itself is the same whichever way it is built', async () => {
    const whole = await buildProgram();
    const alone = await buildProgram('plan');
    expect(alone.name()).toBe(whole.name());
    expect(alone.version()).toBe(whole.version());
    expect(alone.options.map((o) => o.flags)).toEqual(whole.options.map((o) => o.flags));
  });
});

describe('main', () => {
  it('an unknown command is a usage error: status 2, message on stderr, nothing on stdout', async () => {
    const r = await runCli(['nonsense']);
    expect(r.code).toBe(2);
    // One line and a hint, never the whole help (issue 15.15).
    expect(r.stderr).toBe("error: unknown command 'nonsense'\n(see: pci-reset-agent --help)\n");
    expect(r.stdout).toBe('');
  });

  it('a misspelt command gets a suggestion', async () => {
    const r = await runCli(['sacn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('(Did you mean scan?)');
  });

  it('--version and -V print the version, status 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code, flag).toBe(0);
      expect(r.stdout).toBe('0.1.0\n');
      expect(r.stderr).toBe('');
    }
  });

  it('--help lists every command, status 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of ALL) expect(r.stdout).toContain(`\n  ${name}`);
  });

  it("a command's own help works with only that command loaded, and through `help <command>`", async () => {
    const own = await runCli(['scan', '--help']);
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/^Usage: pci-reset-agent scan \[options\]/);
    const viaHelp = await runCli(['help', 'scan']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(own.stdout);
  });
});
