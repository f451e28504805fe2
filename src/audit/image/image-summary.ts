/**
 * What a kdump image holds that the audit needs: its kernel modules and their aliases, the built-in
 * aliases, and the agent's own files. Read in one pass over the image (read-image.ts).
 */
import { AliasIndex, normaliseModule, parseBuiltinModinfo, parseModulesAlias, parseModulesBuiltin } from '../modules/alias-index.js';
import { DEFAULT_CPIO_LIMITS, type CpioEntry } from './cpio.js';
import { ImageError } from './image-error.js';
import type { ImageContents, ImageSegment } from './read-image.js';
import { readImage, readImageFile } from './read-image.js';
import { EROFS_MEMBER, readSquashMember, SQUASH_MEMBER } from './squash-member.js';
import { AGENT_SETTINGS_FILE } from './agent-settings.js';

/** `lib/modules/<ver>/…` or `usr/lib/modules/<ver>/…` (merged /usr images keep a `lib` link). */
const MODULE_DIR = /^(?:usr\/)?lib\/modules\/([^/]+)\/(.+)$/;
const MODULE_FILE = /\.ko(?:\.(?:xz|zst|gz))?$/;
const MODULE_TABLES = new Set(['modules.alias', 'modules.builtin', 'modules.builtin.alias', 'modules.builtin.modinfo']);
const AGENT_BUNDLE = /(^|\/)pci-reset-agent\.mjs$/;

export interface AgentInImage {
  /** Path of the bundle in the image, null when the agent is not there. */
  bundle: string | null;
  /** Version the bundle reports (its `--version`), null when not found in it. */
  version: string | null;
  /** Other agent files: runner, hook or unit, node image, tables. */
  files: string[];
  /** Admin quirk tables carried (etc/pci-reset-agent/quirks.d/*.quirks). */
  quirkTables: string[];
  /** How node is carried: `squashfs`, `plain` (usr/bin/node), or null. */
  node: 'squashfs' | 'plain' | null;
}

export interface ImageSummary {
  segments: ImageSegment[];
  /** Sum over the file and over unpacked cpio data. */
  storedBytes: number;
  unpackedBytes: number;
  entries: number;
  /** Kernel versions under lib/modules (normally one). */
  kernelVersions: string[];
  /** Loadable modules present (normalised names) → path in the image. */
  modules: Map<string, string>;
  /** Aliases of the image's loadable modules (its modules.alias). */
  aliases: AliasIndex;
  /** Built-in code's aliases (modules.builtin.alias, else modules.builtin.modinfo). */
  builtinAliases: AliasIndex;
  /** Built-in module names (modules.builtin). */
  builtin: Set<string>;
  /** Which module tables were found (`modules.alias`, …). */
  tables: string[];
  agent: AgentInImage;
  /** The agent's settings files in the image (kdump.conf, quirks.d tables), for agent-settings.ts; not in the JSON. */
  agentSettingsFiles: Map<string, Buffer>;
  notes: string[];
}

const wantInside = (e: CpioEntry): boolean => {
  if (AGENT_BUNDLE.test(e.name) || AGENT_SETTINGS_FILE.test(e.name)) return true;
  const m = MODULE_DIR.exec(e.name);
  return m !== null && MODULE_TABLES.has(m[2]!);
};
const want = (e: CpioEntry): boolean => wantInside(e) || SQUASH_MEMBER.test(e.name);

/** A squashed image's root is a filesystem image inside the cpio (squash-member.ts): kept whole to be read. */
const LIMITS = { maxCollectBytes: 512 * 1024 * 1024 };

export async function summariseImageFile(hostPath: string, label: string): Promise<ImageSummary> {
  return summarise(withSquashedRoot(await readImageFile(hostPath, { label, want, limits: LIMITS }), label));
}

export async function summariseImageBytes(bytes: Uint8Array, label: string): Promise<ImageSummary> {
  return summarise(withSquashedRoot(await readImage(bytes, { label, want, limits: LIMITS }), label));
}

/**
 * The files of dracut's squashed root added to the cpio's own, as the loader's overlay shows them in the
 * capture kernel. An erofs root cannot be read here: an error, so the audit says the image could not be
 * checked rather than that the agent or a driver is missing from it.
 */
function withSquashedRoot(c: ImageContents, label: string): ImageContents {
  const erofs = c.entries.find((e) => e.kind === 'file' && EROFS_MEMBER.test(e.name));
  if (erofs) throw new ImageError(`${label}: ${erofs.name}: the image's files are in an erofs image (dracut's squash-erofs), which this audit cannot read; build the kdump image with squash-squashfs or without squash to audit it`);
  const members = [...c.files.keys()].filter((n) => SQUASH_MEMBER.test(n));
  if (members.length === 0) return c;
  const entries = [...c.entries];
  const files = new Map([...c.files].filter(([n]) => !SQUASH_MEMBER.test(n)));
  for (const member of members) {
    const segment = c.entries.find((e) => e.name === member)?.segment ?? 0;
    const inner = readSquashMember(member, c.files.get(member)!, label, wantInside, DEFAULT_CPIO_LIMITS.maxCollectBytes);
    for (const e of inner.entries) entries.push({ ...e, segment });
    for (const [n, d] of inner.files) files.set(n, d);
  }
  return { ...c, entries, files };
}

export function summarise(c: ImageContents): ImageSummary {
  const notes: string[] = [];
  const versions = new Set<string>();
  const modules = new Map<string, string>();
  const agent: AgentInImage = { bundle: null, version: null, files: [], quirkTables: [], node: null };
  for (const e of c.entries) {
    const m = MODULE_DIR.exec(e.name);
    if (m) {
      versions.add(m[1]!);
      if (e.kind === 'file' && MODULE_FILE.test(m[2]!)) {
        const base = m[2]!.slice(m[2]!.lastIndexOf('/') + 1).replace(MODULE_FILE, '');
        modules.set(normaliseModule(base), e.name);
      }
    }
    if (e.name.includes('pci-reset-agent')) {
      if (AGENT_BUNDLE.test(e.name) && e.kind === 'file') agent.bundle = e.name;
      else if (e.kind === 'file') agent.files.push(e.name);
      if (/^etc\/pci-reset-agent\/quirks\.d\/[^/]+\.quirks$/.test(e.name)) agent.quirkTables.push(e.name);
      if (e.name.endsWith('/node.squashfs')) agent.node = 'squashfs';
    }
    if ((e.name === 'usr/bin/node' || e.name === 'bin/node') && e.kind === 'file' && agent.node === null) agent.node = 'plain';
  }
  if (agent.bundle) {
    const text = c.files.get(agent.bundle)?.toString('utf8') ?? '';
    // commander's `.version('x.y.z')` in src/cli/main.ts, kept verbatim by esbuild.
    agent.version = /\.version\(\s*["'`]([^"'`]{1,40})["'`]\s*\)/.exec(text)?.[1] ?? null;
    if (!agent.version) notes.push(`${agent.bundle}: no version string found in the bundle`);
  }
  const kernelVersions = [...versions];
  if (kernelVersions.length > 1) notes.push(`modules for ${kernelVersions.length} kernel versions in the image (${kernelVersions.join(', ')}): all are matched`);
  const aliases = new AliasIndex();
  const builtinAliases = new AliasIndex();
  const builtin = new Set<string>();
  const tables = new Set<string>();
  for (const [name, data] of c.files) {
    const m = MODULE_DIR.exec(name);
    if (!m) continue;
    tables.add(m[2]!);
    if (m[2] === 'modules.alias') aliases.addAll(parseModulesAlias(data.toString('utf8')));
    else if (m[2] === 'modules.builtin') for (const b of parseModulesBuiltin(data.toString('utf8'))) builtin.add(b);
  }
  // Built-in aliases: the .alias file when depmod wrote one, else the modinfo records it is made from.
  for (const [name, data] of c.files) {
    const m = MODULE_DIR.exec(name);
    if (m?.[2] === 'modules.builtin.alias') builtinAliases.addAll(parseModulesAlias(data.toString('utf8')));
  }
  if (builtinAliases.size === 0) {
    for (const [name, data] of c.files) {
      const m = MODULE_DIR.exec(name);
      if (m?.[2] === 'modules.builtin.modinfo') builtinAliases.addAll(parseBuiltinModinfo(data));
    }
  }
  if (!tables.has('modules.alias') && modules.size > 0) notes.push('the image has kernel modules but no modules.alias: udev cannot load any of them by alias');
  return {
    segments: c.segments,
    storedBytes: c.segments.reduce((n, s) => n + s.storedBytes, 0),
    unpackedBytes: c.segments.reduce((n, s) => n + s.unpackedBytes, 0),
    entries: c.entries.length,
    kernelVersions,
    modules,
    aliases,
    builtinAliases,
    builtin,
    tables: [...tables].sort(),
    agent,
    agentSettingsFiles: new Map([...c.files].filter(([n]) => AGENT_SETTINGS_FILE.test(n))),
    notes,
  };
}
