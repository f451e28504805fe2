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
} as const;
