/**
 * Reads the reset quirks out of a kernel's drivers/pci/quirks.c: DECLARE_PCI_FIXUP_* lines whose hook
 * changes how a function is reset (NO_*_RESET flags, D3hot/D3cold delays, link retrain, boot reset),
 * the pci_dev_reset_methods[] table (device-specific resets) and the ids[] of pcie_failed_link_retrain().
 * Not a C parser: comments are blanked, macros are resolved from the file's own #defines, pci_ids.h when
 * given, and a built-in list of the IDs the reset quirks use. What cannot be resolved is reported.
 */

export interface KernelEffect {
  noBus?: boolean;
  noFlr?: boolean;
  noPm?: boolean;
  d3hotMs?: number;
  d3hotGlobalMs?: number;
  d3coldMs?: number;
  /** A pci_dev_reset_methods[] entry: the kernel's device_specific reset. */
  deviceSpecific?: boolean;
  /** No effect on the method (link retrain errata, a reset at boot). */
  info?: boolean;
  /** Only the kernel can see what the function can do (hidden capability): prefer its reset file. */
  preferKernel?: boolean;
}

export interface KernelCondition {
  /** (device & mask) == value, read from the hook's body. */
  deviceMask?: { mask: number; value: number };
  subsystemVendor?: number;
  subsystemDevice?: number;
  revision?: number;
  /** false: the hook skips functions on a root bus. */
  rootBus?: boolean;
}

export interface KernelQuirk {
  line: number;
  /** DECLARE_PCI_FIXUP_HEADER, …, `pci_dev_reset_methods[]`, `ids[]`. */
  mechanism: string;
  fn: string;
  /** null = PCI_ANY_ID. */
  vendor: number | null;
  device: number | null;
  /** Class fixups: (class >> shift) == value. */
  cls: { value: number; shift: number } | null;
  effect: KernelEffect;
  condition: KernelCondition;
}

export interface KernelQuirksFile {
  quirks: KernelQuirk[];
  problems: string[];
}

/** IDs and classes the 6.18 reset quirks name, from include/linux/pci_ids.h (used when no pci_ids.h is given). */
export const BUILTIN_SYMBOLS: Record<string, number> = {
  PCI_VENDOR_ID_INTEL: 0x8086,
  PCI_VENDOR_ID_ATI: 0x1002,
  PCI_VENDOR_ID_AMD: 0x1022,
  PCI_VENDOR_ID_NVIDIA: 0x10de,
  PCI_VENDOR_ID_ATHEROS: 0x168c,
  PCI_VENDOR_ID_CAVIUM: 0x177d,
  PCI_VENDOR_ID_TI: 0x104c,
  PCI_VENDOR_ID_ASMEDIA: 0x1b21,
  PCI_VENDOR_ID_MELLANOX: 0x15b3,
  PCI_VENDOR_ID_SAMSUNG: 0x144d,
  PCI_VENDOR_ID_CHELSIO: 0x1425,
  PCI_VENDOR_ID_HUAWEI: 0x19e5,
  PCI_VENDOR_ID_SOLIDRUN: 0xd063,
  PCI_VENDOR_ID_MEDIATEK: 0x14c3,
  PCI_VENDOR_ID_PERICOM: 0x12d8,
  PCI_VENDOR_ID_SOLIDIGM: 0x025e,
  PCI_VENDOR_ID_LENOVO: 0x17aa,
  PCI_VENDOR_ID_APPLE: 0x106b,
  PCI_DEVICE_ID_INTEL_82599_SFP_VF: 0x10ed,
  PCI_DEVICE_ID_INTEL_IVB_M_VGA: 0x0156,
  PCI_DEVICE_ID_INTEL_IVB_M2_VGA: 0x0166,
  PCI_CLASS_DISPLAY_VGA: 0x0300,
  PCI_CLASS_MULTIMEDIA_HD_AUDIO: 0x0403,
  PCI_CLASS_STORAGE_EXPRESS: 0x010802,
  PCI_CLASS_BRIDGE_PCI: 0x0604,
  PCI_CLASS_SERIAL_USB_XHCI: 0x0c0330,
};

/** Hooks whose effect is known by name (their bodies may call helpers the scan below does not follow). */
export const KNOWN_HOOKS: Record<string, KernelEffect> = {
  quirk_no_bus_reset: { noBus: true },
  quirk_nvidia_no_bus_reset: { noBus: true },
  quirk_no_flr: { noFlr: true },
  quirk_no_flr_snet: { noFlr: true },
  quirk_no_pm_reset: { noPm: true },
  quirk_intel_pcie_pm: { d3hotGlobalMs: 120 },
  quirk_radeon_pm: { d3hotMs: 20 },
  quirk_ryzen_xhci_d3hot: { d3hotMs: 20 },
  quirk_nvidia_hda_pm: { d3hotMs: 20 },
  quirk_remove_d3hot_delay: { d3hotMs: 0 },
  pci_fixup_d3cold_delay_1sec: { d3coldMs: 1000 },
  quirk_enable_clear_retrain_link: { info: true },
  quirk_reset_lenovo_thinkpad_p50_nvgpu: { info: true },
  pcie_failed_link_retrain: { info: true },
  quirk_intel_qat_vf_cap: { preferKernel: true },
};

/** Blank comments and string contents, keeping every newline so line numbers stay right. */
function blankComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"/g, (m) => (m.startsWith('"') ? `"${m.slice(1, -1).replace(/[^\n]/g, ' ')}"` : m.replace(/[^\n]/g, ' ')));
}

function lineAt(index: number, starts: number[]): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** `#define NAME value` lines of a header or of quirks.c itself. */
export function readDefines(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of blankComments(text).matchAll(/^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+\(?(0x[0-9a-fA-F]+|\d+)[uUlL]*\)?[ \t]*$/gm)) {
    out[m[1]!] = parseInt(m[2]!, m[2]!.startsWith('0x') ? 16 : 10);
  }
  return out;
}

interface FunctionBody {
  name: string;
  start: number;
  body: string;
}

function functions(code: string): Map<string, FunctionBody> {
  const out = new Map<string, FunctionBody>();
  const re = /^(?:static\s+)?(?:inline\s+)?(?:void|int|bool|u16|u32)\s+(?:__\w+\s+)?(\w+)\s*\(([^;{]*?)\)\s*\{/gm;
  for (const m of code.matchAll(re)) {
    const open = m.index! + m[0].length - 1;
    let depth = 0;
    let end = open;
    for (let i = open; i < code.length; i++) {
      if (code[i] === '{') depth++;
      else if (code[i] === '}') {
        depth--;
        if (depth === 0) {
          end = i;
          break;
        }
      }
    }
    out.set(m[1]!, { name: m[1]!, start: open, body: code.slice(open, end + 1) });
  }
  return out;
}

/** What a hook's body does to reset behaviour, read off the statements the reset quirks use. */
export function bodyEffect(body: string): { effect: KernelEffect; condition: KernelCondition } {
  const effect: KernelEffect = {};
  const condition: KernelCondition = {};
  if (/PCI_DEV_FLAGS_NO_BUS_RESET/.test(body)) effect.noBus = true;
  if (/PCI_DEV_FLAGS_NO_FLR_RESET/.test(body)) effect.noFlr = true;
  if (/PCI_DEV_FLAGS_NO_PM_RESET/.test(body)) effect.noPm = true;
  const num = (s: string): number => parseInt(s, s.startsWith('0x') ? 16 : 10);
  const global = /\bpci_pm_d3hot_delay\s*=\s*(0x[0-9a-fA-F]+|\d+)/.exec(body);
  if (global) effect.d3hotGlobalMs = num(global[1]!);
  const d3hot = /(?:->|\.)d3hot_delay\s*=\s*(0x[0-9a-fA-F]+|\d+)/.exec(body) ?? /\bquirk_d3hot_delay\s*\(\s*\w+\s*,\s*(\d+)\s*\)/.exec(body);
  if (d3hot) effect.d3hotMs = num(d3hot[1]!);
  const d3cold = /(?:->|\.)d3cold_delay\s*=\s*(0x[0-9a-fA-F]+|\d+)/.exec(body);
  if (d3cold) effect.d3coldMs = num(d3cold[1]!);
  if (/clear_retrain_link\s*=\s*1|\bpci_reset_bus\s*\(/.test(body)) effect.info = true;
  // `if ((dev->device & 0xffc0) == 0x2340) ...` or `if ((dev->device & 0xf000) != 0x4000) return -ENOTTY;`
  const mask = /->device\s*&\s*(0x[0-9a-fA-F]+)\s*\)\s*[!=]=\s*(0x[0-9a-fA-F]+)/.exec(body);
  if (mask) condition.deviceMask = { mask: num(mask[1]!), value: num(mask[2]!) };
  const rev = /->revision\s*==\s*(0x[0-9a-fA-F]+|\d+)/.exec(body);
  if (rev) condition.revision = num(rev[1]!);
  if (/!\s*pci_is_root_bus\s*\(/.test(body)) condition.rootBus = false;
  return { effect, condition };
}

function subsystemCondition(body: string, resolve: (t: string) => number | null | undefined, condition: KernelCondition): void {
  const sv = /subsystem_vendor\s*[!=]=\s*(\w+)/.exec(body);
  const sd = /subsystem_device\s*[!=]=\s*(\w+)/.exec(body);
  const v = sv ? resolve(sv[1]!) : undefined;
  const d = sd ? resolve(sd[1]!) : undefined;
  if (typeof v === 'number') condition.subsystemVendor = v;
  if (typeof d === 'number') condition.subsystemDevice = d;
}

function hasEffect(e: KernelEffect): boolean {
  return Object.keys(e).length > 0;
}

/**
 * The reset quirks of one quirks.c. `symbols` adds #defines from pci_ids.h; the file's own #defines
 * and the built-in list fill in the rest.
 */
export function readKernelQuirks(text: string, symbols: Record<string, number> = {}): KernelQuirksFile {
  const problems: string[] = [];
  const code = blankComments(text);
  const starts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') starts.push(i + 1);
  const defs = { ...BUILTIN_SYMBOLS, ...symbols, ...readDefines(text) };
  const resolve = (tok: string): number | null | undefined => {
    const t = tok.trim().replace(/^\(\s*u(?:16|32)\s*\)\s*/, '');
    if (t === 'PCI_ANY_ID') return null;
    if (/^0x[0-9a-fA-F]+$/.test(t)) return parseInt(t, 16);
    if (/^\d+$/.test(t)) return parseInt(t, 10);
    return defs[t];
  };
  const fns = functions(code);
  const effectOf = new Map<string, { effect: KernelEffect; condition: KernelCondition }>();
  const hookEffect = (fn: string): { effect: KernelEffect; condition: KernelCondition } => {
    const cached = effectOf.get(fn);
    if (cached) return cached;
    const f = fns.get(fn);
    const fromBody = f ? bodyEffect(f.body) : { effect: {}, condition: {} };
    if (f) subsystemCondition(f.body, resolve, fromBody.condition);
    // The body tells the values when it sets them itself; the name tells what helpers it calls do.
    const effect = { ...(KNOWN_HOOKS[fn] ?? {}), ...fromBody.effect };
    const r = { effect, condition: fromBody.condition };
    effectOf.set(fn, r);
    return r;
  };
  const quirks: KernelQuirk[] = [];
  const unresolved = (tok: string, line: number): void => {
    problems.push(`quirks.c:${line}: cannot resolve ${tok.trim()} (give --pci-ids PATH/include/linux/pci_ids.h)`);
  };

  // DECLARE_PCI_FIXUP_{EARLY,HEADER,FINAL,...}(vendor, device, hook) and the CLASS_ forms.
  const declare = /\bDECLARE_PCI_FIXUP_(CLASS_)?([A-Z_]+)\s*\(([^;]*?)\)\s*;/g;
  for (const m of code.matchAll(declare)) {
    const line = lineAt(m.index!, starts);
    const lineStart = starts[line - 1]!;
    if (/^\s*#\s*define/.test(code.slice(lineStart, m.index!))) continue;
    const args = m[3]!.split(',').map((a) => a.trim());
    const isClass = m[1] !== undefined;
    const fn = args[args.length - 1]!;
    if (!/^\w+$/.test(fn) || args.length !== (isClass ? 5 : 3)) continue;
    const { effect, condition } = hookEffect(fn);
    if (!hasEffect(effect)) continue; // not a reset quirk
    const vendor = resolve(args[0]!);
    const device = resolve(args[1]!);
    if (vendor === undefined) unresolved(args[0]!, line);
    if (device === undefined) unresolved(args[1]!, line);
    if (vendor === undefined || device === undefined) continue;
    let cls: KernelQuirk['cls'] = null;
    if (isClass) {
      const value = resolve(args[2]!);
      const shift = resolve(args[3]!);
      if (typeof value !== 'number' || typeof shift !== 'number') {
        unresolved(typeof value !== 'number' ? args[2]! : args[3]!, line);
        continue;
      }
      cls = { value, shift };
    }
    quirks.push({ line, mechanism: `DECLARE_PCI_FIXUP_${m[1] ?? ''}${m[2]}`, fn, vendor, device, cls, effect, condition });
  }

  // static const struct pci_dev_reset_methods pci_dev_reset_methods[] = { { vendor, device, fn }, ... };
  const table = /pci_dev_reset_methods\s*\[\s*\]\s*=\s*\{([\s\S]*?)\n\s*\}\s*;/.exec(code);
  if (table) {
    const base = table.index! + table[0].indexOf('{') + 1;
    for (const m of table[1]!.matchAll(/\{\s*([\w()\s]+?)\s*,\s*([\w()\s]+?)\s*,\s*(\w+)\s*,?\s*\}/g)) {
      const line = lineAt(base + m.index!, starts);
      const vendor = resolve(m[1]!);
      const device = resolve(m[2]!);
      if (vendor === undefined || device === undefined) {
        unresolved(vendor === undefined ? m[1]! : m[2]!, line);
        continue;
      }
      const fn = m[3]!;
      const { condition } = hookEffect(fn);
      quirks.push({ line, mechanism: 'pci_dev_reset_methods[]', fn, vendor, device, cls: null, effect: { deviceSpecific: true }, condition });
    }
  } else {
    problems.push('no pci_dev_reset_methods[] table found (is this drivers/pci/quirks.c?)');
  }

  // pcie_failed_link_retrain(): static const struct pci_device_id ids[] = { { PCI_VDEVICE(ASMEDIA, 0x2824) }, ... };
  const retrain = fns.get('pcie_failed_link_retrain');
  if (retrain) {
    for (const m of retrain.body.matchAll(/PCI_VDEVICE\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)/g)) {
      const line = lineAt(retrain.start + m.index!, starts);
      const vendor = resolve(`PCI_VENDOR_ID_${m[1]}`);
      const device = resolve(m[2]!);
      if (vendor === undefined || device === undefined) {
        unresolved(vendor === undefined ? `PCI_VENDOR_ID_${m[1]}` : m[2]!, line);
        continue;
      }
      quirks.push({ line, mechanism: 'ids[]', fn: 'pcie_failed_link_retrain', vendor, device, cls: null, effect: { info: true }, condition: {} });
    }
  }
  quirks.sort((a, b) => a.line - b.line);
  return { quirks, problems };
}
