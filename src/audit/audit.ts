/**
 * `audit`: will kdump on this machine survive its devices? Reads, never writes: the kdump tooling's
 * configuration, the kdump image it built, the PCI functions, the IOMMU evidence, and the planner's
 * plan for a capture kernel; then says, per function, what will stop its DMA after a crash, if anything.
 */
import * as path from 'node:path';
import type { Root } from '../access/root.js';
import type { IommuReport } from '../iommu/iommu-report.js';
import { className } from '../pci/class-names.js';
import { buildPlan } from '../plan/build-plan.js';
import type { PlanStep } from '../plan/plan.js';
import type { Policy } from '../plan/policy.js';
import type { QuirkTable } from '../quirks/quirk-types.js';
import type { ScanDevice, ScanResult } from '../scan/scan-result.js';
import { AGENT_DISABLED, AGENT_NOT_IN_IMAGE, AUDIT_SCHEMA, type AuditDevice, type AuditReport, type AuditVerdict } from './audit-report.js';
import { checkCrashkernel, mib } from './crashkernel.js';
import { stoppingDriver, USB_HCD_MODULES } from './drivers/stopping-drivers.js';
import { ImageError } from './image/image-error.js';
import { summariseImageFile, type ImageSummary } from './image/image-summary.js';
import { imageAgentSettings, type ImageAgentSettings } from './image/agent-settings.js';
import { adminSources, readHostTable, tableFromSources, ADMIN_QUIRKS_DIR } from '../quirks/load.js';
import { predictCaptureIommu } from './iommu-prediction.js';
import { readKdumpSetup } from './kdump-config/kdump-setup.js';
import { AliasIndex, parseBuiltinModinfo, parseModulesAlias } from './modules/alias-index.js';
import { headline } from './headline.js';

export interface AuditInput {
  root: Root;
  scan: ScanResult;
  iommu: IommuReport;
  quirks: QuirkTable;
  policy: Policy;
  /** --kdump-image: read this file (host path) instead of looking for the tool's image. */
  imageFile?: string;
  /** --kdump-cmdline: the capture command line, instead of modelling the tool. */
  cmdline?: string;
  /** --quirks files: read after the image's own tables when the plan is made with those (a what-if). */
  quirkFiles?: string[];
}

export async function runAudit(input: AuditInput): Promise<AuditReport> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const { root } = input;
  const release = input.iommu.kernelRelease;
  const procCmdline = safeText(root, 'proc/cmdline')?.trim() ?? null;
  const setup = readKdumpSetup(root, { release, procCmdline, cmdlineOverride: input.cmdline });
  const warnings: string[] = [...setup.notes];
  const findings: string[] = [];

  // The image.
  const tImage = performance.now();
  let image: ImageSummary | null = null;
  let imagePath: string | null = null;
  let imageError: string | null = null;
  const tried: string[] = [];
  if (input.imageFile !== undefined) {
    imagePath = input.imageFile;
    tried.push(imagePath);
    try {
      image = await summariseImageFile(path.resolve(input.imageFile), input.imageFile);
    } catch (err) {
      imageError = describe(err);
    }
  } else {
    for (const rel of setup.imageCandidates) {
      tried.push(rel);
      let host: string;
      try {
        if (!root.exists(rel)) continue;
        host = root.resolve(rel);
      } catch (err) {
        imageError = `${rel}: ${describe(err)}`;
        continue;
      }
      imagePath = rel;
      try {
        image = await summariseImageFile(host, rel);
        imageError = null;
      } catch (err) {
        imageError = describe(err);
      }
      break;
    }
    if (imagePath === null && imageError === null) imageError = tried.length ? `no kdump image (tried ${tried.map((t) => `/${t}`).join(', ')})` : 'no kdump image: the running kernel\'s release is unknown';
  }
  timings.image = ms(performance.now() - tImage);
  if (imageError) findings.push(`the kdump image cannot be checked: ${imageError}`);
  if (image) warnings.push(...image.notes);

  // The first kernel's modules, for context: what the image could have carried.
  const firstKernel = readFirstKernelModules(root, release);

  // IOMMU: the case predicted for the capture kernel, with its command line.
  const iommu = predictCaptureIommu(input.iommu, setup.cmdline, { append: setup.appendSetting, remove: setup.removeSetting });
  if (iommu.finding) findings.push(iommu.finding);

  // The plan for that case: the planner as it is, fed the predicted case.
  const tPlan = performance.now();
  const planIommu: IommuReport =
    !input.iommu.captureKernel && iommu.predicted !== 'unknown' ? { ...input.iommu, prediction: { case: iommu.predicted, basis: iommu.basis } } : input.iommu;
  // ... and the scan as the agent will see it there: it runs before udev, so only drivers built into the
  // kernel are bound (pcieport, a built-in storage driver); a module bound now is not. The planner
  // treats a bound driver as a reason against a raw bus reset (its reset_prepare/reset_done would be
  // skipped): planned on today's bindings, the Debian e2e guest's e1000 behind a PCIe-to-PCI bridge
  // looked unresettable, while the capture kernel's agent reset it through the bridge.
  const atAgentTime = input.iommu.captureKernel ? input.scan : { ...input.scan, devices: input.scan.devices.map((d) => (d.driver === null || builtIn(d, root, image, firstKernel) ? d : { ...d, driver: null })) };
  // The agent in the image runs with the image's settings: its quirk tables and its kdump.conf.
  const imageLabel = imagePath ?? 'the kdump image';
  const settings = image && image.agent.bundle !== null ? imageAgentSettings(image.agentSettingsFiles, setup.cmdline?.map((w) => w.word) ?? null, imageLabel) : null;
  const quirks = settings ? imageQuirks(settings, root, imageLabel, warnings, input.quirkFiles ?? []) : input.quirks;
  const policy = settings ? withImageArgs(input.policy, settings) : input.policy;
  if (settings) {
    warnings.push(...settings.notes);
    if (settings.exclude.length || settings.only.length || settings.all) warnings.push(`the image's agent runs with PRA_ARGS "${settings.args.join(' ')}": planned with it`);
  }
  const plan = buildPlan({ scan: atAgentTime, iommu: planIommu, quirks, policy });
  timings.plan = ms(performance.now() - tPlan);

  // The agent in the image, and the memory for it.
  const agentIn = (image ? image.agent.bundle !== null : input.iommu.captureKernel) && settings?.enabled !== false;
  if (image && image.agent.bundle === null) warnings.push('the agent is not in the kdump image: nothing will reset devices in the capture kernel (docs/kdump.md says how to add it)');
  if (settings && !settings.enabled) warnings.push(`the agent in the kdump image is disabled (${settings.disabledBy}): nothing will reset devices in the capture kernel`);
  const crash = checkCrashkernel(root, procCmdline, image);
  if (crash.reservedBytes === 0) findings.push('no memory is reserved for a capture kernel (crashkernel= missing or 0): kdump cannot run');
  else if (crash.covers === false) findings.push(`crashkernel=${crash.option ?? '?'} reserves ${mib(crash.reservedBytes!)}, about ${mib(crash.neededBytes!)} are needed for this image: raise crashkernel=`);
  else if (crash.reservedBytes === null && !input.iommu.captureKernel) warnings.push(`memory for the capture kernel: ${crash.basis}`);

  // Per function.
  const cmdWords = new Set((setup.cmdline ?? []).map((w) => w.word));
  const disabled = disabledModules(setup.cmdline?.map((w) => w.word) ?? []);
  const stepOf = new Map<string, PlanStep>();
  for (const s of plan.steps) for (const f of s.functions) stepOf.set(f, s);
  const leftOut = new Map([...plan.unresettable, ...plan.excluded].map((e) => [e.bdf, e.reason]));
  // kdump-tools boots the capture kernel into the root file system (kdump-config passes
  // systemd.unit=kdump-tools-dump.service; that unit keeps systemd's default dependencies, so it starts
  // after sysinit.target, i.e. after systemd-udev-trigger.service has loaded drivers from the root's
  // /lib/modules). A module the image lacks still binds there, before the dump is saved. kdump-utils
  // (dracut) saves the dump from the initramfs: only the image's modules bind.
  const bootsRoot = setup.tool === 'kdump-tools';
  const devices = input.scan.devices.map((d) =>
    judge(d, {
      root,
      image,
      firstKernel,
      bootsRoot,
      disabled,
      nousb: cmdWords.has('usbcore.nousb'),
      agentIn,
      agentOff: settings && !settings.enabled ? `${AGENT_DISABLED} (${settings.disabledBy})` : AGENT_NOT_IN_IMAGE,
      step: stepOf.get(d.bdf) ?? null,
      leftOut: leftOut.get(d.bdf) ?? null,
      case1: iommu.predicted === '1',
    }),
  );
  const counts: Record<AuditVerdict, number> = { agent: 0, driver: 0, harmless: 0, 'keeps-dma': 0, unknown: 0 };
  for (const d of devices) counts[d.verdict]++;
  const keeps = devices.filter((d) => d.verdict === 'keeps-dma');
  if (keeps.length) findings.push(`${keeps.length} function${keeps.length === 1 ? '' : 's'} will keep doing DMA in the capture kernel: ${keeps.map((d) => d.bdf).join(', ')}`);
  const unsure = devices.filter((d) => d.verdict === 'driver' && !d.driverStops);
  if (unsure.length) warnings.push(`${unsure.length} function${unsure.length === 1 ? '' : 's'} get${unsure.length === 1 ? 's' : ''} a driver in the capture kernel that is not known to reset the device at probe: ${unsure.map((d) => `${d.bdf} (${d.imageModules[0] ?? d.builtinModules[0] ?? d.rootModules[0]})`).join(', ')}`);
  if (!setup.cmdline) warnings.push('the capture kernel\'s command line is unknown (no kdump tooling found; give it with --kdump-cmdline)');

  timings.total = ms(performance.now() - t0);
  const report: AuditReport = {
    schema: AUDIT_SCHEMA,
    ready: findings.length === 0,
    headline: '',
    findings,
    warnings,
    kernelRelease: release,
    kdump: { tool: setup.tool, configFiles: setup.configFiles, cmdline: setup.cmdline ? setup.cmdline.map((w) => w.word).join(' ') : null, words: setup.cmdline, notes: setup.notes },
    image: {
      path: imagePath,
      tried,
      error: imageError,
      segments: image ? image.segments.map((s) => ({ offset: s.offset, compression: s.compression, storedBytes: s.storedBytes, unpackedBytes: s.unpackedBytes, entries: s.entries })) : [],
      storedBytes: image?.storedBytes ?? null,
      unpackedBytes: image?.unpackedBytes ?? null,
      entries: image?.entries ?? null,
      kernelVersions: image?.kernelVersions ?? [],
      modules: image ? image.modules.size : null,
      tables: image?.tables ?? [],
      agent: image?.agent ?? null,
      agentSettings: settings
        ? { enabled: settings.enabled, disabledBy: settings.disabledBy, args: settings.args, exclude: settings.exclude, only: settings.only, all: settings.all, notModelled: settings.notModelled, quirkTables: settings.quirkTables.map((t) => t.name) }
        : null,
      readMs: image ? timings.image! : null,
      notes: image?.notes ?? [],
    },
    iommu: { ...iommu, prediction: true },
    crashkernel: crash,
    firstKernel: { modulesDir: firstKernel.dir, aliases: firstKernel.aliases.size, builtinAliases: firstKernel.builtin.size },
    devices,
    counts,
    timingsMs: timings,
  };
  report.headline = headline(report);
  return report;
}

interface JudgeContext {
  root: Root;
  image: ImageSummary | null;
  firstKernel: FirstKernelModules;
  /** The capture kernel mounts the root file system and its udev loads the root's modules (kdump-tools). */
  bootsRoot: boolean;
  disabled: Set<string>;
  nousb: boolean;
  agentIn: boolean;
  /** Why the agent will not run, for the reasons: not in the image, or disabled there. */
  agentOff: string;
  step: PlanStep | null;
  leftOut: string | null;
  case1: boolean;
}

function judge(d: ScanDevice, ctx: JudgeContext): AuditDevice {
  const { modalias, source } = modaliasOf(ctx.root, d);
  const classCode = d.class ? parseInt(d.class, 16) : null;
  const dev: AuditDevice = {
    bdf: d.bdf,
    vendor: d.vendor,
    device: d.device,
    class: d.class,
    description: classCode !== null && Number.isFinite(classCode) ? className(classCode) : 'unknown class',
    modalias,
    modaliasSource: source,
    driverNow: d.driver,
    capture: ctx.image ? 'none' : 'unknown',
    imageModules: [],
    builtinModules: [],
    firstKernelModules: modalias ? [...ctx.firstKernel.aliases.match(modalias), ...ctx.firstKernel.builtin.match(modalias)] : [],
    disabledModules: [],
    rootModules: [],
    verdict: 'unknown',
    reason: '',
    agentStep: null,
    driverStops: null,
  };
  if (ctx.image && modalias) {
    const off = (m: string): boolean => ctx.disabled.has(m) || (ctx.nousb && USB_HCD_MODULES.has(m));
    const inImage = ctx.image.aliases.match(modalias).filter((m) => ctx.image!.modules.has(m));
    const builtin = ctx.image.builtinAliases.match(modalias);
    const fromRoot = ctx.bootsRoot ? ctx.firstKernel.aliases.match(modalias).filter((m) => !inImage.includes(m)) : [];
    dev.disabledModules = [...new Set([...inImage, ...builtin, ...fromRoot].filter(off))];
    dev.imageModules = inImage.filter((m) => !off(m));
    dev.builtinModules = builtin.filter((m) => !off(m));
    if (!dev.imageModules.length && !dev.builtinModules.length) dev.rootModules = fromRoot.filter((m) => !off(m));
    dev.capture = dev.imageModules.length ? 'image' : dev.builtinModules.length ? 'builtin' : dev.rootModules.length ? 'root' : 'none';
  }
  const set = (verdict: AuditVerdict, reason: string): AuditDevice => {
    dev.verdict = verdict;
    dev.reason = reason;
    return dev;
  };
  // 1. The agent resets it (only if the agent is in the image to do so).
  if (ctx.step && ctx.agentIn) {
    const s = ctx.step;
    const waitMs = s.waits.reduce((n, w) => n + w.ms, 0) + s.delayAfterMs;
    dev.agentStep = { id: s.id, method: s.method, target: s.target, waits: s.waits, waitMs };
    return set('agent', `reset by the agent: step ${s.id}, ${s.method}${s.target !== d.bdf ? ` of ${s.target}` : ''}${waitMs ? `, waits ${waitMs} ms` : ''}`);
  }
  // 2. Not a DMA master, or stray DMA cannot hurt.
  const cls = d.class ?? '';
  if (/^060[0149]/.test(cls)) return set('harmless', 'a bridge forwards DMA from below, it starts none');
  if (cls.startsWith('0806')) return set('harmless', 'the IOMMU itself');
  if (ctx.leftOut?.startsWith('not a DMA master')) return set('harmless', ctx.leftOut);
  if (d.command !== null && (d.command & 0x4) === 0 && d.driver === null) return set('harmless', 'Bus Master is off (Command register) and no driver is bound: it cannot start DMA');
  if (ctx.case1) return set('harmless', 'predicted IOMMU case 1: stray DMA lands in the crashed kernel\'s memory, not the capture kernel\'s');
  // 3. Its driver in the capture kernel.
  const binding = dev.imageModules[0] ?? dev.builtinModules[0] ?? dev.rootModules[0];
  if (binding) {
    const known = stoppingDriver(binding);
    const where = dev.imageModules.length
      ? 'in the image'
      : dev.builtinModules.length
        ? 'built into the kernel'
        : 'not in the image: loaded from the root file system after switch_root, so the device runs unchecked until then';
    const why = ctx.step && !ctx.agentIn ? ` (the agent would reset it, but ${ctx.agentOff})` : ctx.leftOut ? ` (the agent leaves it: ${ctx.leftOut})` : '';
    if (known) {
      dev.driverStops = { module: known.module, kind: known.kind, what: known.what, source: known.source };
      return set('driver', `its driver ${binding} (${where}) ${known.what}${why}`);
    }
    return set('driver', `its driver ${binding} (${where}) binds; not known to reset the device at probe${why}`);
  }
  if (!ctx.image) return set('unknown', `the image was not read, so whether a driver binds is unknown${ctx.leftOut ? `; the agent leaves it: ${ctx.leftOut}` : ctx.step ? '; the agent would reset it' : ''}`);
  // 4. Nothing stops it.
  const noDriver = dev.disabledModules.length
    ? `its driver ${dev.disabledModules.join(', ')} is disabled on the capture command line`
    : dev.firstKernelModules.length
      ? `no driver in the image (${dev.firstKernelModules.join(', ')} exists for this kernel but is not in it)`
      : 'no driver';
  const agentSide = ctx.step && !ctx.agentIn ? ctx.agentOff : ctx.leftOut ?? 'no step resets it';
  return set('keeps-dma', `${noDriver}; ${agentSide}`);
}

/** The function's `modalias` file, or the same string built from its IDs (drivers/pci/pci-sysfs.c:315 modalias_show()). */
function modaliasOf(root: Root, d: ScanDevice): { modalias: string | null; source: 'sysfs' | 'config' | null } {
  const text = safeText(root, `${d.path}/modalias`)?.trim();
  if (text && text.startsWith('pci:')) return { modalias: text, source: 'sysfs' };
  if (!d.vendor || !d.device || !d.class) return { modalias: null, source: null };
  const h8 = (s: string | null): string => (s ?? '0').toUpperCase().padStart(8, '0');
  const cls = d.class.toUpperCase().padStart(6, '0');
  return {
    modalias: `pci:v${h8(d.vendor)}d${h8(d.device)}sv${h8(d.subsystemVendor)}sd${h8(d.subsystemDevice)}bc${cls.slice(0, 2)}sc${cls.slice(2, 4)}i${cls.slice(4, 6)}`,
    source: 'config',
  };
}

/** The function's bound driver is built into the kernel (the image's or the first kernel's modules.builtin tables), or is pcieport. */
function builtIn(d: ScanDevice, root: Root, image: ImageSummary | null, firstKernel: FirstKernelModules): boolean {
  const driver = d.driver!.replace(/-/g, '_');
  if (driver === 'pcieport') return true;
  const { modalias } = modaliasOf(root, d);
  if (!modalias) return false;
  const builtins = [...(image ? image.builtinAliases.match(modalias) : []), ...firstKernel.builtin.match(modalias)];
  return builtins.some((m) => m === driver);
}

/** Modules the capture command line keeps from loading: module_blacklist= (kernel), modprobe.blacklist=, rd.driver.blacklist= (dracut). */
function disabledModules(words: string[]): Set<string> {
  const out = new Set<string>();
  for (const w of words) {
    const m = /^(module_blacklist|modprobe\.blacklist|rd\.driver\.blacklist)=(.*)$/.exec(w);
    if (m) for (const name of m[2]!.split(',').filter(Boolean)) out.add(name.replace(/-/g, '_'));
  }
  return out;
}

interface FirstKernelModules {
  dir: string | null;
  aliases: AliasIndex;
  builtin: AliasIndex;
}

function readFirstKernelModules(root: Root, release: string | null): FirstKernelModules {
  const out: FirstKernelModules = { dir: null, aliases: new AliasIndex(), builtin: new AliasIndex() };
  if (!release) return out;
  for (const dir of [`lib/modules/${release}`, `usr/lib/modules/${release}`]) {
    const alias = safeText(root, `${dir}/modules.alias`);
    if (alias === null) continue;
    out.dir = dir;
    out.aliases.addAll(parseModulesAlias(alias));
    const builtin = safeText(root, `${dir}/modules.builtin.alias`);
    if (builtin !== null) out.builtin.addAll(parseModulesAlias(builtin));
    else {
      try {
        if (root.exists(`${dir}/modules.builtin.modinfo`)) out.builtin.addAll(parseBuiltinModinfo(root.readFile(`${dir}/modules.builtin.modinfo`)));
      } catch {
        // Context only: a missing table just means fewer names in the report.
      }
    }
    break;
  }
  return out;
}

function safeText(root: Root, rel: string): string | null {
  try {
    return root.readText(rel);
  } catch {
    return null;
  }
}

function describe(err: unknown): string {
  return err instanceof ImageError ? err.message : (err as Error)?.message ?? String(err);
}

function ms(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * The quirk table the image's agent will use: the default table, then the image's quirks.d tables (a
 * table its loader would refuse is dropped with all of them, as in a kdump run, and said). When the host's
 * /etc/pci-reset-agent/quirks.d differs, say so: the host's tables count only once the image is rebuilt.
 */
function imageQuirks(settings: ImageAgentSettings, root: Root, imageLabel: string, warnings: string[], files: string[]): QuirkTable {
  // --quirks tables come after the image's, as in `plan` they come after the admin tables; read with the
  // same rules (a refused one is the same user error as in `plan`).
  const sources = [...settings.quirkTables.map((t) => ({ label: `${imageLabel}:/${t.name}`, text: t.text })), ...files.map((f) => readHostTable(f, root))];
  const { table, problems } = tableFromSources(sources, { kdump: true });
  for (const p of problems) warnings.push(`in the capture kernel: ${p}`);
  let host: { name: string; text: string }[] | null;
  try {
    host = adminSources(root).map((s) => ({ name: `${ADMIN_QUIRKS_DIR}/${path.basename(s.label)}`, text: s.text }));
  } catch {
    host = null;
  }
  if (host !== null) {
    const key = (ts: { name: string; text: string }[]): string => JSON.stringify(ts.map((t) => [t.name, t.text]));
    if (key(host) !== key(settings.quirkTables)) {
      const names = (ts: { name: string }[]): string => (ts.length ? ts.map((t) => path.basename(t.name)).join(', ') : 'none');
      warnings.push(`the kdump image's quirk tables (${names(settings.quirkTables)}) differ from /${ADMIN_QUIRKS_DIR} (${names(host)}): the capture kernel's agent uses the image's, and the plan here does too; rebuild the kdump image to apply the host's`);
    }
  }
  return table;
}

/** The command line's policy with the image's PRA_ARGS selectors added, as the capture kernel's agent gets them. */
function withImageArgs(policy: Policy, settings: ImageAgentSettings): Policy {
  return {
    ...policy,
    exclude: [...(policy.exclude ?? []), ...settings.exclude],
    only: settings.only.length ? [...(policy.only ?? []), ...settings.only] : policy.only,
    all: policy.all === true || settings.all,
  };
}
