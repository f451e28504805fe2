/**
 * How long the process may linger after the command has finished and set its status (ms). Normally the
 * event loop is empty and Node exits at once. Writes the kernel may hold for a whole reset (`reset`,
 * `reset_subordinate`) are made by a helper process that `apply` kills at its end
 * (src/apply/kernel-writer/), so no thread of this process is asleep in the kernel and process.exit()
 * has nothing to wait for; this linger is the bound for anything else left pending.
 */
export const LINGER_MS = 200;

/**
 * Set the exit status and leave: at once if nothing is pending, else after LINGER_MS. stdout and stderr
 * are synchronous for files, pipes and terminals on Linux, so nothing written is lost.
 */
export function exitWhenDone(code: number, lingerMs = LINGER_MS): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), lingerMs).unref();
}
