/**
 * The kernel command line's IOMMU options, parsed the way the kernel applies them: options are handled
 * left to right, so a later `intel_iommu=on` overrides an earlier `off`.
 */
export interface IommuOptions {
  /** `intel_iommu=on|off` (null: not given; the kernel's CONFIG_INTEL_IOMMU_DEFAULT_ON decides). */
  intel: 'on' | 'off' | null;
  /** Other intel_iommu= words (igfx_off, sm_on, strict, …). */
  intelFlags: string[];
  /** `amd_iommu=off` (null: not given; AMD-Vi is on by default when an IVRS table exists). */
  amd: 'off' | null;
  amdFlags: string[];
  /** `iommu=off`: no IOMMU driver at all (x86 `no_iommu`). */
  iommuOff: boolean;
  /** `iommu=pt|nopt` or `iommu.passthrough=`: identity-mapped DMA; translation stays enabled in hardware. */
  passthrough: boolean | null;
  /** `iommu.strict=` */
  strict: boolean | null;
  /** `intremap=off` / `nointremap`: interrupt remapping disabled. */
  irqRemapOff: boolean;
  /** The IOMMU-related words verbatim, in order, for reports. */
  words: string[];
}

export interface KdumpWords {
  /** `elfcorehdr=` value: set by kexec for a crash kernel (is_kdump_kernel()). */
  elfcorehdr: string | null;
  /** `reset_devices`: a hint kdump tools add; users can add it anywhere. */
  resetDevices: boolean;
  /** `crashkernel=`: this kernel reserved memory for a crash kernel. */
  crashkernel: string | null;
}

/** Split a command line into `name[=value]` words, honouring double quotes as the kernel's next_arg() does. */
export function splitCmdline(text: string): { name: string; value: string | null; word: string }[] {
  const out: { name: string; value: string | null; word: string }[] = [];
  let i = 0;
  const s = text.replace(/\0/g, ' ');
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    let word = '';
    let quoted = false;
    while (i < s.length && (quoted || !/\s/.test(s[i]!))) {
      if (s[i] === '"') quoted = !quoted;
      else word += s[i];
      i++;
    }
    const eq = word.indexOf('=');
    out.push({ name: eq < 0 ? word : word.slice(0, eq), value: eq < 0 ? null : word.slice(eq + 1), word });
    // Everything after `--` goes to init, not the kernel.
    if (word === '--') break;
  }
  return out;
}

export function parseIommuOptions(text: string): IommuOptions {
  const o: IommuOptions = { intel: null, intelFlags: [], amd: null, amdFlags: [], iommuOff: false, passthrough: null, strict: null, irqRemapOff: false, words: [] };
  for (const { name, value, word } of splitCmdline(text)) {
    if (word === '--') break;
    switch (name) {
      case 'intel_iommu':
        o.words.push(word);
        for (const v of (value ?? '').split(',').filter(Boolean)) {
          if (v === 'on') o.intel = 'on';
          else if (v === 'off') o.intel = 'off';
          else o.intelFlags.push(v);
        }
        break;
      case 'amd_iommu':
        o.words.push(word);
        for (const v of (value ?? '').split(',').filter(Boolean)) {
          if (v === 'off') o.amd = 'off';
          else o.amdFlags.push(v);
        }
        break;
      case 'iommu':
        o.words.push(word);
        for (const v of (value ?? '').split(',').filter(Boolean)) {
          if (v === 'off') o.iommuOff = true;
          else if (v === 'force' || v === 'on') o.iommuOff = false;
          else if (v === 'pt') o.passthrough = true;
          else if (v === 'nopt') o.passthrough = false;
        }
        break;
      case 'iommu.passthrough': {
        o.words.push(word);
        const b = kstrtobool(value);
        if (b !== null) o.passthrough = b;
        break;
      }
      case 'iommu.strict': {
        o.words.push(word);
        const b = kstrtobool(value);
        if (b !== null) o.strict = b;
        break;
      }
      case 'intremap':
        o.words.push(word);
        if ((value ?? '').split(',').includes('off')) o.irqRemapOff = true;
        if ((value ?? '').split(',').includes('on')) o.irqRemapOff = false;
        break;
      case 'nointremap':
        o.words.push(word);
        o.irqRemapOff = true;
        break;
      default:
        break;
    }
  }
  return o;
}

export function parseKdumpWords(text: string): KdumpWords {
  const w: KdumpWords = { elfcorehdr: null, resetDevices: false, crashkernel: null };
  for (const { name, value, word } of splitCmdline(text)) {
    if (word === '--') break;
    if (name === 'elfcorehdr' && value !== null) w.elfcorehdr = value;
    else if (name === 'reset_devices') w.resetDevices = true;
    else if (name === 'crashkernel' && value !== null) w.crashkernel = value;
  }
  return w;
}

/** Does this command line switch the vendor's DMA-remapping driver off? */
export function disablesDriver(o: IommuOptions, vendor: 'intel' | 'amd'): boolean {
  if (o.iommuOff) return true;
  return vendor === 'intel' ? o.intel === 'off' : o.amd === 'off';
}

/** lib/kstrtox.c kstrtobool(): 1/y/Y/on → true, 0/n/N/off → false. */
function kstrtobool(v: string | null): boolean | null {
  if (v === null) return null;
  const s = v.toLowerCase();
  if (s === '1' || s.startsWith('y') || s === 'on') return true;
  if (s === '0' || s.startsWith('n') || s === 'off') return false;
  return null;
}
