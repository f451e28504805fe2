/**
 * `audit --json`: the kdump readiness report (issue #17). A contract for fleet tooling (Ansible, Salt):
 * docs/audit.md documents every field; `schema` changes when a field changes meaning.
 */
import type { ImageAgentSettings } from './image/agent-settings.js';
import type { PlanWait } from '../plan/plan.js';
import type { CrashkernelCheck } from './crashkernel.js';
import type { AgentInImage } from './image/image-summary.js';
import type { IommuPrediction } from './iommu-prediction.js';
import type { CmdlineWord, KdumpTool } from './kdump-config/kdump-setup.js';

export const AUDIT_SCHEMA = 'pci-reset-agent/audit/1';

/**
 * - `agent`: the agent resets it in the capture kernel before drivers load.
 * - `driver`: its driver is in the capture image (or built in) and binds; `driverStops` says whether
 *   that driver is known to stop the device's DMA when it does. With kdump-tools also a driver that only
 *   the root file system has (capture `root`): it binds later, after switch_root, before the dump.
 * - `harmless`: not a DMA master (a bridge, Bus Master off and no driver), or stray DMA cannot hurt
 *   (predicted IOMMU case 1).
 * - `keeps-dma`: nothing stops it: no driver in the image and the agent cannot (or may not) reset it.
 * - `unknown`: the image could not be read, so whether a driver binds is not known.
 */
export type AuditVerdict = 'agent' | 'driver' | 'harmless' | 'keeps-dma' | 'unknown';

export interface AuditDevice {
  bdf: string;
  /** `8086` … (4 hex digits), null when unreadable. */
  vendor: string | null;
  device: string | null;
  /** Class code, 6 hex digits. */
  class: string | null;
  /** Class name (`Ethernet controller`). */
  description: string;
  modalias: string | null;
  /** `sysfs` (the function's modalias file) or `config` (built from IDs as pci-sysfs.c modalias_show() does). */
  modaliasSource: 'sysfs' | 'config' | null;
  /** Driver bound now, in the first kernel. */
  driverNow: string | null;
  /**
   * In the capture kernel: `image` (a module in the image matches), `builtin`, `root` (kdump-tools only: no
   * module in the image, but the capture kernel mounts the root file system and udev there loads one of
   * `rootModules`), `none`, `unknown` (image not read).
   */
  capture: 'image' | 'builtin' | 'root' | 'none' | 'unknown';
  /** Matching modules present in the image (normalised names). */
  imageModules: string[];
  /** Matching built-in modules. */
  builtinModules: string[];
  /** Modules of the first kernel that match (its lib/modules modules.alias): what the image could carry. */
  firstKernelModules: string[];
  /**
   * kdump-tools: the first kernel's matching modules (not disabled) that udev loads from the root file
   * system after the capture kernel's switch_root, when the image has none (capture `root`); else empty.
   */
  rootModules: string[];
  /** Matching modules the capture command line blacklists or disables (module_blacklist=, usbcore.nousb, …). */
  disabledModules: string[];
  verdict: AuditVerdict;
  /** One sentence: why this verdict. */
  reason: string;
  /** The agent's step for it (verdict `agent`). */
  agentStep: { id: number; method: string; target: string; waits: PlanWait[]; waitMs: number } | null;
  /** The binding driver's behaviour from src/audit/drivers/stopping-drivers.ts; null when not known. */
  driverStops: { module: string; kind: 'kdump' | 'probe'; what: string; source: string } | null;
}

export interface AuditReport {
  schema: typeof AUDIT_SCHEMA;
  /** Nothing found that can make a crash dump fail. */
  ready: boolean;
  /** The one line a human reads first. */
  headline: string;
  /** Every reason `ready` is false, one sentence each (empty when ready). */
  findings: string[];
  /** Weaker observations (a driver not known to reset, notes from the readers). */
  warnings: string[];
  kernelRelease: string | null;
  kdump: {
    tool: KdumpTool;
    configFiles: string[];
    /** The capture kernel's command line as it will be passed; null when unknown. */
    cmdline: string | null;
    words: CmdlineWord[] | null;
    notes: string[];
  };
  image: {
    /** Root-relative path read (or the --kdump-image argument); null when none was found. */
    path: string | null;
    tried: string[];
    error: string | null;
    segments: { offset: number; compression: string; storedBytes: number; unpackedBytes: number; entries: number }[];
    storedBytes: number | null;
    unpackedBytes: number | null;
    entries: number | null;
    kernelVersions: string[];
    modules: number | null;
    tables: string[];
    agent: AgentInImage | null;
    /**
     * What the agent in the image will run with (null when the image was not read or holds no agent):
     * enabled, or what disables it; PRA_ARGS and the selectors the audit modelled from it; the image's
     * quirk tables the plan was made with. docs/audit.md, "What it looks at" (item 5).
     */
    agentSettings: (Omit<ImageAgentSettings, 'quirkTables' | 'notes'> & { quirkTables: string[] }) | null;
    readMs: number | null;
    notes: string[];
  };
  /** Marked as a prediction: the capture kernel has not booted. */
  iommu: IommuPrediction & { prediction: true };
  crashkernel: CrashkernelCheck;
  firstKernel: { modulesDir: string | null; aliases: number; builtinAliases: number };
  devices: AuditDevice[];
  counts: Record<AuditVerdict, number>;
  timingsMs: Record<string, number>;
}

/**
 * How a keeps-dma reason names the agent's absence (its part after "; "): judge() writes these and the
 * headline reads them back, so they are defined once.
 */
export const AGENT_NOT_IN_IMAGE = 'the agent is not in the image';
export const AGENT_DISABLED = 'the agent in the image is disabled';
