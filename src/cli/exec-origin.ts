/**
 * Where `apply --deadline` starts counting when a launcher says when it started node.
 *
 * performance.now()'s zero is taken inside node's start-up, after the kernel has mapped the binary and
 * its static initialisers have run. From the kdump image's squashfs in an emulated capture kernel that
 * part alone took tens of seconds (docs/kdump.md, "Debian kdump-tools, for real"), all of it time the
 * runner's PRA_TIMEOUT kill timer was already counting: a 30 s deadline then ended only 10 s before the
 * 90 s kill. The kdump runner (pci-reset-agent-kdump) therefore passes PRA_EXEC_UPTIME, the first field
 * of /proc/uptime read just before it starts node under `timeout`, and the deadline counts from there,
 * so the agent stops on its own deadline a whole PRA_TIMEOUT − deadline before the kill.
 */

/** Longer than any launcher takes to start node: a larger gap is a stale variable, not a start time. */
const MAX_GAP_S = 600;

/**
 * The run's origin on performance.now()'s clock: 0 (node's own start) unless `execUptime` (seconds of
 * uptime at the exec) is a number not after `uptimeNow` and less than MAX_GAP_S before it; then the
 * moment of the exec, which is ≤ 0.
 */
export function execOrigin(execUptime: string | undefined, uptimeNow: () => number | null, perfNow: number): number {
  if (execUptime === undefined || !/^\d+(\.\d+)?$/.test(execUptime.trim())) return 0;
  const now = uptimeNow();
  const gap = now === null ? NaN : now - Number(execUptime);
  if (!(gap >= 0 && gap < MAX_GAP_S)) return 0;
  return Math.min(0, perfNow - gap * 1000);
}

/** /proc/uptime's first field (the running kernel's, whatever --root says), null when unreadable. */
export function procUptime(read: () => string): number | null {
  try {
    const v = Number(read().split(' ')[0]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}
