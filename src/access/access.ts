/**
 * The one interface every backend implements (the pciutils `struct pci_methods` idea): the sysfs
 * reader for a live machine or a mock tree, and the simulator. Decoding lives elsewhere and only sees
 * bytes and strings, so it is the same whatever the backend.
 *
 * Reads that find nothing return null; failures throw AccessError with the errno code and the path.
 */
export interface PciFunctionEntry {
  /** `DDDD:BB:dd.f`, lowercase. */
  bdf: string;
  /** Root-relative canonical path of the function's directory, e.g. `sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0`. */
  path: string;
}

export type ConfigWidth = 1 | 2 | 4;

export interface PciAccess {
  /** Backend name, for reports (`sysfs`, `simulator`). */
  readonly name: string;
  /** Every PCI function, in the order the backend found them. Entries that are not functions are reported in `listProblems`. */
  listFunctions(): PciFunctionEntry[];
  /** Things in the listing that are not usable functions (a dangling link, a name that is not a BDF). */
  listProblems(): string[];
  /** A text attribute of the function (`vendor`, `reset_method`, …), trailing newline kept; null when absent. */
  readAttribute(bdf: string, name: string): string | null;
  /** Write a text attribute (`reset`, `reset_method`). */
  writeAttribute(bdf: string, name: string, value: string): void;
  /**
   * The same write without blocking the event loop: a write to `reset` blocks in the kernel for the whole
   * reset (100 ms to seconds), so concurrent resets need it. Optional; callers fall back to writeAttribute.
   */
  writeAttributeAsync?(bdf: string, name: string, value: string): Promise<void>;
  /** Root-relative canonical target of a link in the function's directory (`driver`, `iommu_group`, `physfn`); null when absent. */
  readLink(bdf: string, name: string): string | null;
  /** Names in the function's directory (to find `virtfn*` links). */
  listAttributes(bdf: string): string[];
  /** All of the config space this backend lets us read (64, 256 or 4096 bytes, or shorter when truncated); null when there is no config file. */
  readConfig(bdf: string): Uint8Array | null;
  /** Read one aligned register. */
  readConfigAt(bdf: string, offset: number, width: ConfigWidth): number;
  /** Write one aligned register. */
  writeConfigAt(bdf: string, offset: number, width: ConfigWidth, value: number): void;
  /**
   * Run `fn`, whose reads of this one function may share one opening of its directory (the scan's dozen
   * reads per function). Writes inside it are still resolved afresh. Optional: without it, fn() as is.
   */
  batch?<T>(bdf: string, fn: () => T): T;
}
