/**
 * How long the process may linger after the command has finished and set its status (ms), once its own
 * output is out. Normally the event loop is empty and Node exits at once. Writes the kernel may hold for
 * a whole reset (`reset`, `reset_subordinate`) are made by a helper process that `apply` kills at its end
 * (src/apply/kernel-writer/), so no thread of this process is asleep in the kernel and process.exit()
 * has nothing to wait for; this linger is the bound for anything else left pending.
 */
export const LINGER_MS = 200;

/** How often the exit timer looks again while stdout or stderr still has output queued (ms). */
const FLUSH_POLL_MS = 20;

/** performance.now() by which the process must be gone even with output still queued; null: none. */
let bound: number | null = null;

/**
 * Set the time (performance.now(), which counts from the process's start) by which the process leaves
 * even if its output has not all been taken: `apply` sets its deadline, which bounds the whole process.
 * Without one, queued output is waited for as long as the reader takes, as any Unix tool's write to a
 * pipe would.
 */
export function setExitBound(at: number | null): void {
  bound = at;
}

/**
 * Output still queued in this process. Node writes stdout and stderr synchronously to files and
 * terminals but not to a pipe on Linux (libuv opens it non-blocking and queues what the pipe does not
 * take): a `plan --json` of 2.9 MB to a reader that had not read yet lost all but 219 KB when the
 * process left LINGER_MS after its work (issue 16).
 */
function outputQueued(): boolean {
  return process.stdout.writableLength > 0 || process.stderr.writableLength > 0;
}

/**
 * Set the exit status and leave: at once if nothing is pending, else LINGER_MS later, but never while
 * stdout or stderr still has output queued, unless the exit bound (setExitBound) has come.
 */
export function exitWhenDone(code: number, lingerMs = LINGER_MS): void {
  process.exitCode = code;
  const leave = (): void => {
    if (outputQueued()) {
      const left = bound === null ? FLUSH_POLL_MS : bound - performance.now();
      if (left > 0) {
        setTimeout(leave, Math.min(FLUSH_POLL_MS, left)).unref();
        return;
      }
    }
    process.exit(code);
  };
  setTimeout(leave, lingerMs).unref();
}
