/**
 * Exit statuses of every command (documented in the README). Scripts and the kdump unit key on them.
 */
export const EXIT = {
  /** Done; for `scan`, problems with single functions are in the output, not in the status. */
  OK: 0,
  /** The command could not do its job: the root is missing, the PCI listing is unreadable, a write failed. */
  FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** apply: some steps failed, or a restored register did not read back; the report says which. Not a crash. */
  APPLY_PARTIAL: 3,
  /** apply: the deadline came first; what was left is abandoned (the report says which). */
  APPLY_DEADLINE: 4,
  /** apply: no capture-kernel evidence and no --allow-live: nothing was done. */
  APPLY_REFUSED_LIVE: 5,
  /** apply: another agent holds ROOT/run/pci-reset-agent/apply.lock: nothing was done. */
  APPLY_LOCKED: 6,
  /** audit: something can make a crash dump fail (a device keeps doing DMA, IOMMU case 3a/3b predicted, the image unreadable or missing, too little crashkernel memory); the report says what. */
  AUDIT_AT_RISK: 7,
} as const;
