import type { PcieType } from '../config/pcie.js';
import type { ReadinessTimes } from '../config/readiness.js';

/**
 * One function in `scan --json`. The first block of fields is a contract other tools read (issue #2);
 * keep names and encodings. Fields after it are additions.
 */
export interface ScanDevice {
  bdf: string;
  vendor: string | null;
  device: string | null;
  class: string | null;
  revision: string | null;
  subsystemVendor: string | null;
  subsystemDevice: string | null;
  headerType: number | null;
  multiFunction: boolean;
  parent: string | null;
  secondaryBus: number | null;
  subordinateBus: number | null;
  pcieType: PcieType | null;
  capabilities: { id: number; offset: number }[];
  extendedCapabilities: { id: number; offset: number }[];
  flr: boolean;
  afFlr: boolean;
  pm: { version: number; noSoftReset: boolean; powerState: number } | null;
  resetMethods: string[] | null;
  inferredResetMethods: string[];
  driver: string | null;
  iommuGroup: number | null;
  problems: string[];

  /** Root-relative sysfs directory of the function. */
  path: string;
  /** Readable config bytes (64, 256, 4096, or fewer when truncated). */
  configSize: number;
  /** Other functions on the same bus. */
  sameBus: string[];
  /** For bridges: every function below (what a secondary bus reset clears). Empty otherwise. */
  below: string[];
  /** SR-IOV: the PF of a VF, the VFs of a PF. */
  physfn: string | null;
  virtfns: string[];
  /** Whether the kernel created the `reset` file. */
  resetFile: boolean;
  /** Methods the kernel lists in `reset_method` that would fail at reset time (e.g. `bus` on function 0 of a multi-function device). */
  staleResetMethods: string[];
  /** Status bit 0: no 100 ms wait is needed after FLR. */
  immediateReadiness: boolean;
  command: number | null;
  /** Advanced Features details when present (`afFlr` above needs both bits). */
  af: { tp: boolean; flr: boolean } | null;
  pcie: {
    version: number;
    devCtl: number;
    transactionsPending: boolean;
    maxLinkSpeed: number | null;
    /** Highest supported speed as the kernel computes it (LnkCap2 masked by LnkCap, pcie_get_supported_speeds()); null: unknown. */
    supportedLinkSpeed: number | null;
    currentLinkSpeed: number | null;
    dllLinkActiveReporting: boolean;
    dllLinkActive: boolean;
    crsVisibilityEnabled: boolean | null;
    /** SltCap Hot-Plug Capable (ports with a slot). */
    hotPlugCapable: boolean;
  } | null;
  /** Config offset of a CXL Port DVSEC, whose "Unmask SBR" bit gates a secondary bus reset; null when none. */
  cxlPortDvsec: number | null;
  bridgeControl: number | null;
  /** CXL Device DVSEC Mem_Enable (the device decodes host memory); null when it is not a CXL device. */
  cxlMemEnabled: boolean | null;
  /** Readiness Time Reporting capability (0x22) when present: its times in ms, `valid` as reported. */
  readiness: ReadinessTimes | null;
}

export interface ScanResult {
  /** The root the scan read (`/` on a live machine). */
  root: string;
  devices: ScanDevice[];
  /** Entries of sys/bus/pci/devices that are not functions (dangling links, names that are not BDFs). */
  problems: string[];
}
