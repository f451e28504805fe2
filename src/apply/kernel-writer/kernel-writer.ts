import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { AccessError } from '../../access/access-error.js';
import { CHILD_SOURCE } from './child-source.js';
import { IOCTL_CHILD_SOURCE } from './ioctl-child-source.js';

/** Options for the helper's node: the small heap the agent itself runs with (bin.ts, the kdump runner). */
const CHILD_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=16'];

/** A file the agent resolved inside the root and checked, held open (O_PATH) for the helper to reopen. */
export interface WriteTarget {
  /** The agent's descriptor of the file; the writer owns it from here and closes it when the write is over. */
  fd: number;
  /** Its host path, for messages (and the helper's fallback without procfs). */
  path: string;
}

interface Request {
  path: string;
  value: string;
  fd: number;
  /** Clock time (performance.now()) the request was sent. */
  sentAt: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One ioctl that may sleep in the kernel for a whole reset, made by a one-shot helper (ioctl-child-source.ts). */
export interface IoctlRequest {
  /** Where koffi is, for the helper to require (its package, or the bundle's koffi.node). */
  koffi: string;
  /**
   * The descriptor the ioctl is made on (a VFIO device fd). Stays the caller's: the helper gets its own
   * copy as it starts (its stdio array), so the caller may close it as soon as this call has returned.
   */
  fd: number;
  /** Group fds a hot reset proves ownership of, in order; the caller's, like `fd`. */
  groups: number[];
  request: number;
  /** For messages and the report: `vfio 0000:01:00.0`, `VFIO_DEVICE_RESET`. */
  label: string;
  what: string;
}

/** A write still inside the helper when the agent stopped waiting for it. */
export interface WriteInFlight {
  path: string;
  value: string;
  /** How long it had been in the kernel when the agent let it go (ms). */
  forMs: number;
}

/**
 * Writes that can block in the kernel, made by a helper process. A write to a function's `reset` sleeps
 * in the kernel for the whole reset, up to 60 s for a function that does not answer (pci_dev_wait(),
 * drivers/pci/pci.c, PCIE_RESET_READY_POLL_MS). Made by the agent itself, on libuv's thread pool, such a
 * write kept the whole process alive past its report: process.exit() joins the pool's threads, and a
 * thread asleep in the kernel cannot be joined (nor killed: the sleep is uninterruptible). Made here, the
 * agent reports and exits on time; the helper is killed as the agent ends and leaves, at the latest, when
 * the kernel lets the write go.
 *
 * One helper per run, started on the first request (or by start(), to overlap its start-up with other
 * work), answering requests in any order: a node without the agent's code, so it starts in tens of
 * milliseconds and a few MB beyond node itself (bench/reliability.ts measures both).
 */
export class KernelWriter {
  private child: ChildProcess | null = null;
  private readonly requests = new Map<number, Request>();
  /** One-shot ioctl helpers still running, with what they do. */
  private readonly oneShots = new Map<ChildProcess, { label: string; what: string; sentAt: number }>();
  private nextId = 1;
  private closed = false;
  /** Why the helper is gone, once it is (it exited, or could not start). */
  private gone: string | null = null;

  /** Start the helper now if it is not running. */
  start(): void {
    if (this.child || this.closed) return;
    let child: ChildProcess;
    try {
      // child_process is required here, on first use, not imported at load: `apply --simulate` and every
      // other command start without it (test/packaging/bundle-start.test.ts).
      const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
      child = spawn(process.execPath, [...CHILD_NODE_FLAGS, '-e', CHILD_SOURCE], {
        // No stdout or stderr: a helper still alive after the agent must hold no pipe a caller waits on
        // for its end of file (the kdump runner's redirections, a shell's $(…)).
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        serialization: 'json',
      });
    } catch (err) {
      this.gone = `cannot start the helper process: ${(err as Error).message}`;
      return;
    }
    this.child = child;
    child.on('message', (m: { id?: number; ok?: boolean; code?: string; syscall?: string; message?: string }) => {
      if (typeof m.id !== 'number') return;
      const r = this.requests.get(m.id);
      if (!r) return;
      this.requests.delete(m.id);
      this.hold();
      if (m.ok) r.resolve();
      else r.reject(new AccessError(m.code ?? 'EIO', r.path, m.code === 'ESTALE' ? (m.message ?? 'not the file checked') : m.syscall === 'open' ? 'cannot open for writing' : `write of ${JSON.stringify(r.value)} refused`));
    });
    const lost = (why: string): void => {
      this.gone ??= why;
      this.child = null;
      for (const [id, r] of this.requests) {
        this.requests.delete(id);
        r.reject(new AccessError('EIO', r.path, `write of ${JSON.stringify(r.value)}: ${why}; whether the kernel took it is unknown`));
      }
    };
    child.on('error', (err) => lost(`the helper process failed: ${err.message}`));
    child.on('exit', (code, signal) => lost(`the helper process ended (${signal ?? `status ${code}`})`));
    // The helper never keeps the agent alive by itself; its channel does only while a write is awaited
    // (see hold()), and close() ends that.
    child.unref();
    this.hold();
  }

  /** Keep the event loop alive for the channel exactly while a request waits for its answer. */
  private hold(): void {
    const channel = this.child?.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (this.requests.size > 0) channel?.ref?.();
    else channel?.unref?.();
  }

  /**
   * Write `value` to the file `target.fd` refers to, in the helper (which reopens that open file, never its
   * path: see child-source.ts). The writer owns `target.fd` from here. Rejects with AccessError (errno code).
   */
  write(target: WriteTarget, value: string): Promise<void> {
    const { fd, path } = target;
    if (this.closed) {
      closeQuietly(fd);
      return Promise.reject(new AccessError('ECANCELED', path, 'the run has ended: no new write to the kernel'));
    }
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(fd, { bigint: true });
    } catch (err) {
      closeQuietly(fd);
      return Promise.reject(AccessError.from(err, path, 'cannot stat before the write'));
    }
    this.start();
    const child = this.child;
    if (!child) {
      closeQuietly(fd);
      return Promise.reject(new AccessError('EIO', path, this.gone ?? 'no helper process'));
    }
    return new Promise<void>((resolve, reject) => {
      const id = this.nextId++;
      // The fd stays open until the answer: the helper reopens it through /proc/PID/fd/FD.
      const settle = <A extends unknown[]>(f: (...a: A) => void) => (...a: A): void => {
        closeQuietly(fd);
        f(...a);
      };
      this.requests.set(id, { path, value, fd, sentAt: performance.now(), resolve: settle(resolve), reject: settle(reject) });
      this.hold();
      child.send({ id, pid: process.pid, fd, dev: String(st.dev), ino: String(st.ino), path, value }, (err) => {
        if (!err) return;
        const r = this.requests.get(id);
        this.requests.delete(id);
        this.hold();
        r?.reject(new AccessError('EIO', path, `cannot hand the write to the helper process: ${err.message}`));
      });
    });
  }

  /**
   * An ioctl that may block in the kernel (VFIO_DEVICE_RESET sleeps in pci_try_reset_function() as a `reset`
   * write does), made by a helper process of its own that inherits the descriptors through its stdio array
   * (a VFIO device fd is an anonymous inode: it cannot be reopened through procfs, only inherited). Resolves with the ioctl's return value and errno; rejects (AccessError, EIO) when the helper
   * cannot run it. One helper per ioctl: VFIO steps are rare (a function bound to vfio-pci).
   */
  ioctl(req: IoctlRequest): Promise<{ ret: number; errno: number }> {
    const fds = [req.fd, ...req.groups];
    if (this.closed) {
      return Promise.reject(new AccessError('ECANCELED', req.label, `the run has ended: no ${req.what}`));
    }
    let child: ChildProcess;
    try {
      const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
      child = spawn(process.execPath, [...CHILD_NODE_FLAGS, '-e', IOCTL_CHILD_SOURCE], {
        stdio: ['ignore', 'ignore', 'ignore', 'ipc', ...fds],
        serialization: 'json',
      });
    } catch (err) {
      return Promise.reject(new AccessError('EIO', req.label, `cannot start the helper process for ${req.what}: ${(err as Error).message}`));
    }
    this.oneShots.set(child, { label: req.label, what: req.what, sentAt: performance.now() });
    child.unref();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.oneShots.delete(child);
      };
      child.once('message', (m: { ret?: number; errno?: number; error?: string }) => {
        done();
        if (typeof m.ret === 'number') resolve({ ret: m.ret, errno: m.errno ?? 0 });
        else reject(new AccessError('EIO', req.label, `${req.what}: the helper process could not make the call: ${m.error ?? 'no answer'}`));
      });
      child.once('exit', (code, signal) => {
        if (!this.oneShots.has(child)) return;
        done();
        reject(new AccessError('EIO', req.label, `${req.what}: the helper process ended (${signal ?? `status ${code}`}) without an answer; whether the kernel did it is unknown`));
      });
      child.send({ koffi: req.koffi, request: req.request, groups: req.groups.length }, (err) => {
        if (err) reject(new AccessError('EIO', req.label, `cannot hand ${req.what} to the helper process: ${err.message}`));
      });
    });
  }

  /** Writes sent and not answered yet. */
  inFlight(): WriteInFlight[] {
    const now = performance.now();
    return [
      ...[...this.requests.values()].map((r) => ({ path: r.path, value: r.value, forMs: Math.round(now - r.sentAt) })),
      ...[...this.oneShots.values()].map((o) => ({ path: o.label, value: o.what, forMs: Math.round(now - o.sentAt) })),
    ];
  }

  /** The helper's process id while it runs (tests, the bench). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /**
   * End of the run: kill the helper (SIGKILL: it must start nothing more). A write asleep in the kernel
   * is not undone: the kernel finishes it and the helper dies after; the agent does not wait. Its promise
   * is left unsettled on purpose: whoever waits for it (kernel.ts puts reset_method back only once the
   * reset write has returned) must not take the run's end for the kernel's. Returns the writes that were
   * still in flight, for the report: never `ok`, their outcome is unknown.
   */
  close(): WriteInFlight[] {
    const left = this.inFlight();
    this.closed = true;
    const child = this.child;
    this.child = null;
    for (const c of this.oneShots.keys()) {
      c.removeAllListeners('exit');
      c.removeAllListeners('message');
      try {
        c.kill('SIGKILL');
        c.disconnect();
      } catch {
        // already gone
      }
    }
    this.oneShots.clear();
    // The helper has its own open of each file (or never gets one now): the agent's descriptors go.
    for (const r of this.requests.values()) closeQuietly(r.fd);
    this.requests.clear();
    if (child) {
      child.removeAllListeners('exit');
      child.removeAllListeners('message');
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
      try {
        child.disconnect();
      } catch {
        // already disconnected
      }
    }
    return left;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
