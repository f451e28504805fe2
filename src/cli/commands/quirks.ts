import type { Command } from 'commander';
import { jsonText } from '../json-out.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessError } from '../../access/access-error.js';
import type { Root } from '../../access/root.js';
import { DEFAULT_QUIRKS_LABEL, defaultQuirksPath } from '../../quirks/default-path.js';
import { DEFAULT_QUIRKS_TEXT } from '../../quirks/default-text.js';
import { diffKernel } from '../../quirks/diff-kernel.js';
import { readDefines, readKernelQuirks } from '../../quirks/kernel-source.js';
import { formatFinding, lintTables, type LintSource } from '../../quirks/lint.js';
import { adminLintSources, defaultTable, lintSource, loadQuirks, readHostTable } from '../../quirks/load.js';
import { lookup } from '../../quirks/match.js';
import { formatActions, formatMatch, parseQuirks } from '../../quirks/parse.js';
import { cite, type QuirkEntry, type QuirkSubject, type QuirkTable } from '../../quirks/quirk-types.js';
import { printable, textBlock } from '../../text/escape.js';
import { fit, wrap } from '../../text/wrap.js';
import { EXIT } from '../../errors/exit-codes.js';
import { UserError } from '../../errors/user-error.js';
import { openRoot } from '../../access/open-root.js';

const WIDTH = 80;
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerQuirks(program: Command): void {
  const quirks = program.command('quirks').description('inspect and check the quirk table (read-only)');

  quirks
    .command('lint')
    .description('check tables as loading does: trust, syntax, unknown methods, contradictions (exit 1 on errors); duplicates, shadowed entries (warnings)')
    .argument('[files...]', 'tables to check (default: the built-in table and ROOT/etc/pci-reset-agent/quirks.d)')
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--json', 'print the machine-readable result')
    .action((files: string[], opts: { root: string; json?: boolean }) => {
      const { root } = openRoot(opts.root);
      const sources: LintSource[] = [{ label: DEFAULT_QUIRKS_LABEL, text: DEFAULT_QUIRKS_TEXT, report: files.length === 0 }];
      try {
        if (files.length === 0) sources.push(...adminLintSources(root));
        else for (const f of files) sources.push(lintSource(() => readHostTable(f, root), f));
      } catch (err) {
        if (err instanceof AccessError) throw new UserError(err.message);
        throw err;
      }
      const { findings, entries } = lintTables(sources);
      const errors = findings.filter((f) => f.severity === 'error').length;
      const tables = sources.filter((s) => s.report).length;
      if (opts.json) {
        process.stdout.write(jsonText({ tables, entries, errors, warnings: findings.length - errors, findings }));
      } else {
        // One finding per line, `file:line:column: severity: message` as compilers print them, so editors
        // and grep can use them: the one human view not wrapped to 80 columns (a path can be longer).
        process.stdout.write(textBlock(findings.map(formatFinding)));
        process.stdout.write(`${tables} table${tables === 1 ? '' : 's'}, ${entries} entries: ${errors} error${errors === 1 ? '' : 's'}, ${findings.length - errors} warning${findings.length - errors === 1 ? '' : 's'}\n`);
      }
      if (errors > 0) process.exitCode = EXIT.FAILED;
    });

  quirks
    .command('lookup')
    .description('which entries match a device and which one wins each setting')
    .argument('<ids>', 'VVVV:DDDD or VVVV:DDDD:SVVV:SDDD (vendor, device, subsystem vendor, subsystem device)')
    .option('--class <class>', 'class code, 2, 4 or 6 hex digits (entries keyed on class match only when it is given)')
    .option('--rev <rev>', 'revision, 2 hex digits')
    .option('--root-bus <yes|no>', 'whether the function sits on a root bus')
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--quirks <file>', 'read this table after the default and admin tables (repeatable)', collect, [])
    .option('--json', 'print the machine-readable result')
    .action((ids: string, opts: { class?: string; rev?: string; rootBus?: string; root: string; quirks: string[]; json?: boolean }) => {
      const subject = parseSubject(ids, opts);
      const { table } = loadTables(opts.root, opts.quirks);
      const r = lookup(table, subject);
      const eff = r.effective;
      const decided: Record<string, string> = {};
      if (eff.skip) decided.skip = cite(eff.skip);
      if (eff.noDma) decided.no_dma = cite(eff.noDma);
      if (eff.prefer) decided.prefer = `${eff.prefer.value.join(',')} (${cite(eff.prefer.from)})`;
      if (eff.noFlr.length) decided.no_flr = eff.noFlr.map(cite).join(', ');
      if (eff.noPm.length) decided.no_pm = eff.noPm.map(cite).join(', ');
      if (eff.noBus.length) decided.no_bus = eff.noBus.map(cite).join(', ');
      if (eff.assumeFlr) decided.assume = `flr (${cite(eff.assumeFlr)})`;
      if (eff.waitMs) decided.wait = `${eff.waitMs.value}ms (${cite(eff.waitMs.from)})`;
      if (eff.d3hotMs) decided.d3hot = `${eff.d3hotMs.value}ms (${cite(eff.d3hotMs.from)})`;
      if (eff.d3hotGlobalMs) decided.d3hot_global = `${eff.d3hotGlobalMs.value}ms (${cite(eff.d3hotGlobalMs.from)})`;
      if (eff.d3coldMs) decided.d3cold = `${eff.d3coldMs.value}ms (${cite(eff.d3coldMs.from)})`;
      if (opts.json) {
        const json = { subject, matches: eff.matched.map(entryJson), conditional: r.conditional.map(entryJson), decided };
        process.stdout.write(jsonText(json));
        return;
      }
      const out: string[] = [];
      out.push(`${ids}${describeSubject(subject)}`);
      if (eff.matched.length === 0) out.push('No entry matches.');
      else out.push(`Matching entries, highest precedence first (${eff.matched.length}):`);
      for (const e of eff.matched) out.push(...entryLines(e));
      // Entries for any vendor keyed on class or subsystem alone would be listed for every lookup: counted, not shown.
      const specific = r.conditional.filter((e) => e.match.vendor !== null);
      const generic = r.conditional.length - specific.length;
      if (specific.length) {
        out.push('', `Would also match, depending on what was not given (${specific.length}):`);
        for (const e of specific) out.push(...entryLines(e));
      }
      if (generic) out.push('', ...wrap(`(${generic} entries for any vendor keyed on class or subsystem could match too: give --class and VVVV:DDDD:SVVV:SDDD to see them)`, WIDTH, ''));
      if (Object.keys(decided).length) out.push('', 'In force:');
      else out.push('', ...wrap("In force: nothing (the planner follows the kernel's order and the capability bits)", WIDTH, '', '  '));
      for (const [k, v] of Object.entries(decided)) out.push(...wrap(`${k}: ${v}`, WIDTH, '  ', '    '));
      process.stdout.write(textBlock(out));
    });

  quirks
    .command('list')
    .description('every entry of the tables in force, in load order')
    .option('--root <dir>', 'directory that stands in for /', '/')
    .option('--quirks <file>', 'read this table after the default and admin tables (repeatable)', collect, [])
    .option('--json', 'print the machine-readable list')
    .action((opts: { root: string; quirks: string[]; json?: boolean }) => {
      const { table } = loadTables(opts.root, opts.quirks);
      if (opts.json) {
        process.stdout.write(jsonText({ sources: table.sources, entries: table.entries.map(entryJson) }));
        return;
      }
      const out: string[] = [];
      for (const s of table.sources) {
        out.push(`# ${s.label}: ${s.entries} entries`);
        for (const e of table.entries.filter((x) => x.file === s.label)) out.push(...entryLines(e));
      }
      const where = defaultQuirksPath();
      out.push(...wrap(`(the built-in table is embedded in the agent${where ? `; its source is ${where}` : ''})`, WIDTH, ''));
      process.stdout.write(textBlock(out));
    });

  quirks
    .command('diff-kernel')
    .description('reset quirks a kernel\'s drivers/pci/quirks.c carries that the table lacks or states differently (exit 1 when any)')
    .argument('<quirks.c>', 'PATH/drivers/pci/quirks.c of a kernel tree')
    .option('--pci-ids <file>', 'include/linux/pci_ids.h to resolve ID macros (default: found next to quirks.c in a kernel tree)')
    .option('--table <file>', 'compare this table instead of the built-in one (e.g. an edited quirks/default.quirks)')
    .option('--json', 'print the machine-readable result')
    .action((file: string, opts: { pciIds?: string; table?: string; json?: boolean }) => {
      const text = readText(file);
      const idsPath = opts.pciIds ?? path.join(path.dirname(file), '..', '..', 'include', 'linux', 'pci_ids.h');
      const symbols = opts.pciIds !== undefined || fs.existsSync(idsPath) ? readDefines(readText(idsPath)) : {};
      const table: QuirkTable = opts.table ? tableFromFile(opts.table) : defaultTable();
      // A file with no fixup declaration and no reset table is not quirks.c: comparing against it would
      // report every entry of the table as removed upstream.
      if (!/\bDECLARE_PCI_FIXUP_|\bpci_dev_reset_methods\s*\[/.test(text)) {
        throw new UserError(`${file}: does not look like drivers/pci/quirks.c (no DECLARE_PCI_FIXUP_* line, no pci_dev_reset_methods[] table)`);
      }
      const kernel = readKernelQuirks(text, symbols);
      const diff = diffKernel(table, kernel.quirks, file);
      const counts = { missing: 0, different: 0, removed: 0, moved: 0 };
      for (const i of diff.items) counts[i.kind]++;
      if (opts.json) {
        process.stdout.write(jsonText({ file, kernelQuirks: kernel.quirks.length, matched: diff.matched, counts, items: diff.items, problems: kernel.problems }));
      } else {
        const out: string[] = [];
        const titles = { missing: 'Missing from the table', different: 'Stated differently', removed: 'In the table, not in this file', moved: 'Citation out of date (same quirk, other line)' };
        for (const kind of ['missing', 'different', 'removed', 'moved'] as const) {
          const items = diff.items.filter((i) => i.kind === kind);
          if (!items.length) continue;
          out.push(`${titles[kind]} (${items.length}):`);
          for (const i of items) {
            out.push(...wrap(i.message, WIDTH, '  ', '    '));
            if (i.suggestion) for (const l of i.suggestion.split('\n')) out.push(`      ${l}`);
          }
          out.push('');
        }
        for (const p of kernel.problems) out.push(...wrap(p, WIDTH, '! ', '  '));
        out.push(
          ...wrap(
            `${file}: ${kernel.quirks.length} reset quirks; ${diff.matched} as the table states them; ${counts.missing} missing, ${counts.different} different, ${counts.removed} no longer in the file, ${counts.moved} moved.`,
            WIDTH,
            '',
            '  ',
          ),
        );
        process.stdout.write(textBlock(out));
      }
      if (counts.missing + counts.different + counts.removed > 0) process.exitCode = EXIT.FAILED;
    });
}

function loadTables(rootDir: string, files: string[]): { root: Root; table: QuirkTable } {
  const { root } = openRoot(rootDir);
  const { table, warnings } = loadQuirks(root, { files });
  for (const w of warnings) process.stderr.write(`pci-reset-agent: WARNING: ${printable(w)}\n`);
  return { root, table };
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(AccessError.from(err, file).message);
  }
}

function tableFromFile(file: string): QuirkTable {
  try {
    const { entries } = parseQuirks(readText(file), file, 0);
    return { entries, sources: [{ label: file, entries: entries.length }] };
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

function parseSubject(ids: string, opts: { class?: string; rev?: string; rootBus?: string }): QuirkSubject {
  const m = /^([0-9a-f]{4}):([0-9a-f]{4})(?::([0-9a-f]{4}):([0-9a-f]{4}))?$/i.exec(ids.trim());
  if (!m) throw new UserError(`${JSON.stringify(ids)}: expected VVVV:DDDD or VVVV:DDDD:SVVV:SDDD (hex)`, EXIT.USAGE);
  let classCode: number | null = null;
  if (opts.class !== undefined) {
    const c = /^(?:0x)?([0-9a-f]{2}|[0-9a-f]{4}|[0-9a-f]{6})$/i.exec(opts.class);
    if (!c) throw new UserError(`--class ${opts.class}: expected 2, 4 or 6 hex digits`, EXIT.USAGE);
    classCode = parseInt(c[1]!, 16) << (8 * (3 - c[1]!.length / 2));
  }
  let revision: number | null = null;
  if (opts.rev !== undefined) {
    if (!/^(?:0x)?[0-9a-f]{1,2}$/i.test(opts.rev)) throw new UserError(`--rev ${opts.rev}: expected 2 hex digits`, EXIT.USAGE);
    revision = parseInt(opts.rev, 16);
  }
  let rootBus: boolean | null = null;
  if (opts.rootBus !== undefined) {
    if (opts.rootBus !== 'yes' && opts.rootBus !== 'no') throw new UserError(`--root-bus ${opts.rootBus}: expected yes or no`, EXIT.USAGE);
    rootBus = opts.rootBus === 'yes';
  }
  const h = (s: string | undefined): number | null => (s === undefined ? null : parseInt(s, 16));
  return { vendor: h(m[1]), device: h(m[2]), subsystemVendor: h(m[3]), subsystemDevice: h(m[4]), classCode, revision, rootBus };
}

function describeSubject(s: QuirkSubject): string {
  const given: string[] = [];
  const missing: string[] = [];
  (s.classCode === null ? missing : given).push(s.classCode === null ? 'class' : `class ${s.classCode.toString(16).padStart(6, '0')}`);
  (s.revision === null ? missing : given).push(s.revision === null ? 'revision' : `rev ${s.revision.toString(16).padStart(2, '0')}`);
  (s.rootBus === null ? missing : given).push(s.rootBus === null ? 'root bus' : s.rootBus ? 'on a root bus' : 'below a bridge');
  if (s.subsystemVendor === null) missing.push('subsystem');
  return `${given.length ? ` (${given.join(', ')})` : ''}${missing.length ? `; not given: ${missing.join(', ')}` : ''}`;
}

function entryLines(e: QuirkEntry): string[] {
  return [fit(`  ${cite(e)}  ${formatMatch(e.match)}  ${formatActions(e)}`, WIDTH), ...wrap(e.reason, WIDTH, '      ')];
}

function entryJson(e: QuirkEntry): Record<string, unknown> {
  return {
    file: e.file,
    line: e.line,
    match: formatMatch(e.match),
    actions: formatActions(e),
    prefer: e.prefer,
    skip: e.skip,
    noDma: e.noDma,
    noFlr: e.noFlr,
    noPm: e.noPm,
    noBus: e.noBus,
    waitMs: e.waitMs,
    d3hotMs: e.d3hotMs,
    d3hotGlobalMs: e.d3hotGlobalMs,
    d3coldMs: e.d3coldMs,
    assumeFlr: e.assumeFlr,
    info: e.info,
    kernel: e.kernel,
    reason: e.reason,
  };
}
