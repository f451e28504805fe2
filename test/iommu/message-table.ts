import * as fs from 'node:fs';
import * as path from 'node:path';
import { MESSAGES, type MessageSpec } from '../../src/iommu/kmsg/messages.js';
import { toLogLines } from '../../src/iommu/kmsg/log-lines.js';

/**
 * The messages the verdict relies on, per kernel version the e2e matrix booted, as seen in the real logs
 * saved under test/fixtures/iommu/<scenario>-<label>: the capture kernel's (root/dev/kmsg, through
 * `capture`) and the crashed kernel's (old-log.txt from vmcore-dmesg, first-dmesg.txt). Two things are held
 * to those logs so neither can drift: each pattern's `checked.e2e` in src/iommu/kmsg/messages.ts, and the
 * table in docs/iommu.md between the message-table markers.
 */
export const DIR = path.resolve(import.meta.dirname, '../fixtures/iommu');
export const DOC = path.resolve(import.meta.dirname, '../../docs/iommu.md');
export const BEGIN = '<!-- message-table:begin (generated from the fixtures; test/iommu/message-table.test.ts checks it) -->';
export const END = '<!-- message-table:end -->';

export interface Fixture {
  name: string;
  scenario: string;
  label: string;
  release: string;
  capture: string[];
  crashed: string[];
}

function lines(file: string): string[] {
  return fs.existsSync(file) ? toLogLines(fs.readFileSync(file, 'utf8')).map((l) => l.text) : [];
}

export function loadFixtures(): Fixture[] {
  if (!fs.existsSync(DIR)) return [];
  return fs
    .readdirSync(DIR)
    .filter((d) => fs.existsSync(path.join(DIR, d, 'root')))
    .sort()
    .map((name) => {
      const m = /^(.*)-(\d+\.\d+)$/.exec(name)!;
      const rel = path.join(DIR, name, 'root/proc/sys/kernel/osrelease');
      return {
        name,
        scenario: m[1]!,
        label: m[2]!,
        release: fs.existsSync(rel) ? fs.readFileSync(rel, 'utf8').trim() : m[2]!,
        capture: lines(path.join(DIR, name, 'root/dev/kmsg')),
        crashed: [...lines(path.join(DIR, name, 'old-log.txt')), ...lines(path.join(DIR, name, 'first-dmesg.txt'))],
      };
    });
}

export const seenIn = (spec: MessageSpec, text: string[]): boolean => text.some((t) => spec.re.test(t));

/** One cell: the scenarios whose logs print the message, C = capture kernel, K = crashed kernel. */
function cell(spec: MessageSpec, fixtures: Fixture[]): string {
  const hits = fixtures
    .map((f) => ({ f, where: [seenIn(spec, f.capture) ? 'C' : '', seenIn(spec, f.crashed) ? 'K' : ''].filter(Boolean).join(' ') }))
    .filter((h) => h.where !== '');
  if (hits.length === 0) return 'not seen';
  const wheres = new Set(hits.map((h) => h.where));
  if (hits.length === fixtures.length && wheres.size === 1) return `all: ${hits[0]!.where}`;
  return hits.map((h) => `${h.f.scenario} ${h.where}`).join(', ');
}

export function renderTable(fixtures: Fixture[]): string {
  const labels = [...new Set(fixtures.map((f) => f.label))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const header = labels.map((l) => {
    const fs_ = fixtures.filter((f) => f.label === l);
    return `${[...new Set(fs_.map((f) => f.release))].join(', ')} (${fs_.map((f) => f.scenario).join(', ')})`;
  });
  const rows = MESSAGES.map((spec) => `| ${spec.name}${spec.decisive ? ' *' : ''} | ${labels.map((l) => cell(spec, fixtures.filter((f) => f.label === l))).join(' | ')} | ${spec.checked.source} |`);
  return [`| message | ${header.join(' | ')} | kernel source |`, `|---|${labels.map(() => '---|').join('')}---|`, ...rows].join('\n');
}


export const README = path.resolve(import.meta.dirname, '../../README.md');
export const README_BEGIN = '<!-- readme-messages:begin (generated from the fixtures; test/iommu/message-table.test.ts checks it) -->';
export const README_END = '<!-- readme-messages:end -->';

/**
 * The README's short form: the decisive messages only, per kernel generation, C and/or K where any scenario's
 * real log printed it, "–" where none did; the decisive messages no scenario makes a kernel print, in one
 * line (they rest on the kernel source and the unit tests). The full table is docs/iommu.md's.
 */
export function renderReadmeSummary(fixtures: Fixture[]): string {
  const labels = [...new Set(fixtures.map((f) => f.label))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const where = (spec: MessageSpec, label: string): string => {
    const fs_ = fixtures.filter((f) => f.label === label);
    const c = fs_.some((f) => seenIn(spec, f.capture));
    const k = fs_.some((f) => seenIn(spec, f.crashed));
    return [c ? 'C' : '', k ? 'K' : ''].filter(Boolean).join(' ') || '–';
  };
  const decisive = MESSAGES.filter((s) => s.decisive);
  const seen = decisive.filter((s) => labels.some((l) => where(s, l) !== '–'));
  const unseen = decisive.filter((s) => !seen.includes(s));
  const releases = (l: string): string => [...new Set(fixtures.filter((f) => f.label === l).map((f) => f.release))].join(', ');
  // The message as a real kernel printed it: the first matching line of the fixtures, cut at 72 characters.
  const printed = (spec: MessageSpec): string => {
    for (const f of fixtures) {
      const line = [...f.capture, ...f.crashed].find((t) => spec.re.test(t));
      if (line) return line.length > 72 ? `${line.slice(0, 71)}…` : line;
    }
    return '';
  };
  return [
    `| decisive message, as printed | ${labels.map((l) => `${l} (${releases(l)})`).join(' | ')} |`,
    `|---|${labels.map(() => '---|').join('')}`,
    ...seen.map((s) => `| \`${printed(s).replace(/\|/g, '\\|')}\` | ${labels.map((l) => where(s, l)).join(' | ')} |`),
    '',
    `Checked against the kernel source only (no scenario makes a kernel print them): ${unseen.map((s) => s.name).join(', ')}.`,
  ].join('\n');
}
