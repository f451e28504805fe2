/**
 * Which modules claim a device: the `alias PATTERN MODULE` lines depmod writes to modules.alias (and
 * modules.builtin.alias for code built into the kernel), matched against the function's `modalias`
 * with fnmatch(3) semantics, as kmod does (libkmod/libkmod-index.c, fnmatch(pattern, modalias, 0)).
 */

export interface Alias {
  pattern: string;
  /** Module name as depmod writes it (`-` already `_`). */
  module: string;
}

/** `pci:v00008086d…`: the vendor part of a PCI alias when it is literal, for indexing. */
const PCI_VENDOR = /^pci:v([0-9A-F]{8})d/;

export class AliasIndex {
  private readonly byVendor = new Map<string, { alias: Alias; re: RegExp }[]>();
  private readonly other: { alias: Alias; re: RegExp }[] = [];
  size = 0;

  add(alias: Alias): void {
    // Only PCI aliases can match a PCI modalias; the rest (usb:, acpi*:, of:, …) are skipped.
    if (!alias.pattern.startsWith('pci:') && !/^[*?[]/.test(alias.pattern)) return;
    const entry = { alias, re: fnmatchToRegExp(alias.pattern) };
    const m = PCI_VENDOR.exec(alias.pattern);
    if (m) {
      const list = this.byVendor.get(m[1]!);
      if (list) list.push(entry);
      else this.byVendor.set(m[1]!, [entry]);
    } else {
      this.other.push(entry);
    }
    this.size++;
  }

  addAll(aliases: Iterable<Alias>): this {
    for (const a of aliases) this.add(a);
    return this;
  }

  /** Modules whose alias matches, each once, in the order of the alias file. */
  match(modalias: string): string[] {
    const vendor = /^pci:v([0-9A-F]{8})/.exec(modalias)?.[1];
    const out: string[] = [];
    const scan = (list: { alias: Alias; re: RegExp }[] | undefined): void => {
      for (const e of list ?? []) if (e.re.test(modalias) && !out.includes(e.alias.module)) out.push(e.alias.module);
    };
    if (vendor) scan(this.byVendor.get(vendor));
    scan(this.other);
    return out;
  }
}

/** Module name as the kernel and depmod use it: `-` becomes `_` (kmod's modname_normalize()). */
export function normaliseModule(name: string): string {
  return name.replace(/-/g, '_');
}

/** modules.alias / modules.builtin.alias: `alias PATTERN MODULE` lines, `#` comments. */
export function parseModulesAlias(text: string): Alias[] {
  const out: Alias[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('alias ')) continue;
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    out.push({ pattern: parts[1]!, module: normaliseModule(parts[2]!) });
  }
  return out;
}

/**
 * modules.builtin.modinfo: NUL-separated `module.key=value` records of built-in code (the kernel writes
 * it since 5.2; older depmod has no modules.builtin.alias, so the aliases are taken from here).
 */
export function parseBuiltinModinfo(bytes: Uint8Array): Alias[] {
  const out: Alias[] = [];
  for (const rec of Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').split('\0')) {
    const dot = rec.indexOf('.');
    const eq = rec.indexOf('=');
    if (dot < 1 || eq < dot || rec.slice(dot + 1, eq) !== 'alias') continue;
    out.push({ pattern: rec.slice(eq + 1), module: normaliseModule(rec.slice(0, dot)) });
  }
  return out;
}

/** modules.builtin: one `kernel/…/name.ko` path a line: names of built-in modules. */
export function parseModulesBuiltin(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.endsWith('.ko'))
    .map((l) => normaliseModule(l.slice(l.lastIndexOf('/') + 1, -3)));
}

/**
 * fnmatch(3) with flags 0 as a RegExp: `*` any run (slashes too), `?` one character, `[…]` a set with
 * `!` or `^` negation and ranges, `\` quotes the next character. A `[` with no closing `]` is literal.
 */
export function fnmatchToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) re += escape(pattern[++i]!);
    else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (pattern[j] === '!' || pattern[j] === '^') {
        negate = true;
        j++;
      }
      // A `]` right after the opening (or the negation) is a member, not the end.
      let body = '';
      if (pattern[j] === ']') {
        body += '\\]';
        j++;
      }
      while (j < pattern.length && pattern[j] !== ']') {
        const d = pattern[j]!;
        if (d === '\\' && j + 1 < pattern.length) {
          body += escape(pattern[++j]!);
        } else if (pattern[j + 1] === '-' && j + 2 < pattern.length && pattern[j + 2] !== ']') {
          body += `${escape(d)}-${escape(pattern[j + 2]!)}`;
          j += 2;
        } else {
          body += escape(d);
        }
        j++;
      }
      if (j >= pattern.length) {
        re += '\\[';
      } else {
        re += `[${negate ? '^' : ''}${body}]`;
        i = j;
      }
    } else re += escape(c);
  }
  return new RegExp(`${re}$`);
}

function escape(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}
