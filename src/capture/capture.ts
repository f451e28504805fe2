import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessError } from '../access/access-error.js';
import type { PciAccess } from '../access/access.js';
import type { Root } from '../access/root.js';
import { PCI_DEVICES_DIR } from '../access/sysfs.js';
import { CliError } from '../cli/fail.js';

/** Plain attributes worth keeping. Never `rom`, `resource*` BAR files or `remove`/`rescan`: reading or touching those has effects. */
const FUNCTION_FILES = [
  'vendor', 'device', 'class', 'revision', 'subsystem_vendor', 'subsystem_device', 'irq', 'resource', 'enable',
  'numa_node', 'local_cpulist', 'modalias', 'label', 'index', 'acpi_index', 'power_state', 'd3cold_allowed',
  'current_link_speed', 'current_link_width', 'max_link_speed', 'max_link_width', 'sriov_totalvfs', 'sriov_numvfs',
  'sriov_offset', 'sriov_stride', 'sriov_vf_device', 'reset_method',
];
/** Write-only files whose mere presence matters (the kernel creates them only for some functions). */
const PRESENCE_FILES = ['reset', 'reset_subordinate'];
const FUNCTION_LINKS = ['driver', 'iommu_group', 'physfn'];
/** Machine-wide files the IOMMU verdict reads. */
const MACHINE_FILES = ['proc/cmdline', 'sys/firmware/acpi/tables/DMAR', 'sys/firmware/acpi/tables/IVRS'];

export interface CaptureSummary {
  functions: number;
  files: number;
  warnings: string[];
}

/**
 * Snapshot a machine (or another tree) into a mock tree: the same canonical paths, links made relative,
 * config bytes as far as they could be read. `scan --root OUT` then gives the same document as
 * `scan --root SOURCE`. Only reads from the source.
 */
export function capture(root: Root, access: PciAccess, outDir: string): CaptureSummary {
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
    throw new CliError(`--out ${outDir}: exists and is not empty; refusing to write into it`);
  }
  const out = path.resolve(outDir);
  if (out === root.dir || out.startsWith(`${root.dir === '/' ? '' : root.dir}/sys/`)) {
    throw new CliError(`--out ${outDir}: must not lie inside the tree being captured`);
  }
  fs.mkdirSync(out, { recursive: true });
  const summary: CaptureSummary = { functions: 0, files: 0, warnings: [] };
  const warn = (w: string): void => {
    summary.warnings.push(w);
  };
  const put = (rel: string, content: Buffer | string, mode?: number): void => {
    const p = path.join(out, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content, mode === undefined ? undefined : { mode });
    summary.files++;
  };
  const linkTo = (rel: string, targetRel: string): void => {
    const p = path.join(out, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (fs.existsSync(p) || isLink(p)) return;
    fs.symlinkSync(path.relative(path.dirname(p), path.join(out, targetRel)), p);
  };

  for (const entry of access.listFunctions()) {
    const { bdf, path: dir } = entry;
    let names: string[];
    try {
      names = access.listAttributes(bdf);
    } catch (err) {
      warn(`${bdf}: ${(err as Error).message}; function skipped`);
      continue;
    }
    fs.mkdirSync(path.join(out, dir), { recursive: true });
    const config = safe(() => access.readConfig(bdf), (e) => warn(`${bdf}: config: ${e}`));
    if (config) put(`${dir}/config`, Buffer.from(config), 0o644);
    for (const name of FUNCTION_FILES) {
      if (!names.includes(name)) continue;
      const text = safe(() => access.readAttribute(bdf, name), (e) => warn(`${bdf}: ${name}: ${e}`));
      if (text !== null && text !== undefined) put(`${dir}/${name}`, text, name === 'reset_method' ? 0o644 : 0o444);
    }
    for (const name of PRESENCE_FILES) if (names.includes(name)) put(`${dir}/${name}`, '', 0o200);
    const links = [...FUNCTION_LINKS, ...names.filter((n) => /^virtfn\d+$/.test(n))];
    for (const name of links) {
      if (!names.includes(name)) continue;
      const target = safe(() => access.readLink(bdf, name), (e) => warn(`${bdf}: ${name}: ${e}`));
      if (!target) continue;
      linkTo(`${dir}/${name}`, target);
      if (name === 'driver') {
        fs.mkdirSync(path.join(out, target), { recursive: true });
        linkTo(`${target}/${bdf}`, dir);
      }
    }
    linkTo(`${PCI_DEVICES_DIR}/${bdf}`, dir);
    summary.functions++;
  }
  for (const p of access.listProblems()) warn(p);

  captureGroups(root, out, put, linkTo, warn);
  captureIommuClass(root, out, put, linkTo, warn);
  for (const rel of MACHINE_FILES) {
    const data = safe(() => (root.exists(rel) ? root.readFile(rel) : null), (e) => warn(`${rel}: ${e}`));
    if (data) put(rel, data);
  }
  // The capture-kernel marker: /proc/vmcore is the old kernel's memory, far too big to copy; its presence is what matters.
  if (root.exists('proc/vmcore')) put('proc/vmcore', '', 0o400);
  return summary;
}

function captureGroups(
  root: Root,
  out: string,
  put: (rel: string, c: Buffer | string) => void,
  linkTo: (rel: string, target: string) => void,
  warn: (w: string) => void,
): void {
  const base = 'sys/kernel/iommu_groups';
  for (const group of safe(() => root.list(base), (e) => warn(`${base}: ${e}`)) ?? []) {
    const g = `${base}/${group}`;
    fs.mkdirSync(path.join(out, g, 'devices'), { recursive: true });
    for (const f of ['type', 'reserved_regions']) {
      const t = safe(() => root.readText(`${g}/${f}`), (e) => warn(`${g}/${f}: ${e}`));
      if (t !== null && t !== undefined) put(`${g}/${f}`, t);
    }
    for (const dev of safe(() => root.list(`${g}/devices`), (e) => warn(`${g}/devices: ${e}`)) ?? []) {
      const target = safe(() => root.readLink(`${g}/devices/${dev}`), (e) => warn(`${g}/devices/${dev}: ${e}`));
      if (target) linkTo(`${g}/devices/${dev}`, target);
    }
  }
}

/** sys/class/iommu/<unit> links and the unit's attribute files one level down (intel-iommu/cap, amd-iommu/features, …). */
function captureIommuClass(
  root: Root,
  out: string,
  put: (rel: string, c: Buffer | string) => void,
  linkTo: (rel: string, target: string) => void,
  warn: (w: string) => void,
): void {
  const base = 'sys/class/iommu';
  for (const unit of safe(() => root.list(base), (e) => warn(`${base}: ${e}`)) ?? []) {
    const target = safe(() => root.canonical(`${base}/${unit}`), (e) => warn(`${base}/${unit}: ${e}`));
    if (!target) continue;
    fs.mkdirSync(path.join(out, target), { recursive: true });
    if (root.readLink(`${base}/${unit}`)) linkTo(`${base}/${unit}`, target);
    for (const sub of safe(() => root.list(target), () => undefined) ?? []) {
      const subRel = `${target}/${sub}`;
      if (root.readLink(subRel) !== null) continue;
      const host = root.resolve(subRel);
      const st = fs.statSync(host);
      if (st.isFile()) {
        const t = safe(() => root.readText(subRel), (e) => warn(`${subRel}: ${e}`));
        if (t !== null && t !== undefined) put(subRel, t);
      } else if (st.isDirectory() && sub !== 'power' && sub !== 'devices') {
        for (const f of safe(() => root.list(subRel), () => undefined) ?? []) {
          const fRel = `${subRel}/${f}`;
          if (root.readLink(fRel) !== null) continue;
          if (!fs.statSync(root.resolve(fRel)).isFile()) continue;
          const t = safe(() => root.readText(fRel), (e) => warn(`${fRel}: ${e}`));
          if (t !== null && t !== undefined) put(fRel, t);
        }
      }
    }
  }
}

function safe<T>(fn: () => T, onError: (msg: string) => void): T | undefined {
  try {
    return fn();
  } catch (err) {
    onError(err instanceof AccessError ? err.message : (err as Error).message);
    return undefined;
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
