/**
 * How long the process may linger after the command has finished and set its status (ms). Normally the
 * event loop is empty and Node exits at once; this bounds the case where it is not: `apply` gave up on a
 * reset write still blocked in the kernel (reported as stuck), and that request alone would keep the
 * agent alive for as long as the kernel takes, up to 60 s for a function that does not answer.
 */
export const LINGER_MS = 200;

/**
 * Set the exit status and leave: at once if nothing is pending, else after LINGER_MS. stdout and stderr
 * are synchronous for files, pipes and terminals on Linux, so nothing written is lost. A thread that is
 * itself asleep inside the kernel can still hold the process until the syscall returns: the kernel, not
 * Node, decides that (README, "Reliability").
 */
export function exitWhenDone(code: number, lingerMs = LINGER_MS): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), lingerMs).unref();
}
