import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { O_PATH } from './fs-at.js';
import { Worker } from 'node:worker_threads';
import { AccessError } from '../src/access/access-error.js';
import type { Root } from '../src/access/root.js';
import type { VfioBackend, VfioDependent } from '../src/apply/methods/vfio-backend.js';

/**
 * VFIO ioctls through koffi, the legacy group/container API (include/uapi/linux/vfio.h). Loaded only when
 * a `vfio` step runs (dynamic import), so scan and plan never load koffi.
 *
 * Every VFIO ioctl is a plain _IO(';', 100 + n) despite the _IOW/_IOWR comments in the header. The two
 * that block for the length of a reset (DEVICE_RESET, PCI_HOT_RESET) run on a worker thread, so the
 * event loop, and the other steps' waits, go on; the rest run inline. koffi cannot call a variadic
 * function asynchronously, so ioctl is bound with fixed prototypes (int fd, unsigned long, one
 * argument): on x86-64 and arm64 Linux a variadic callee reads its third argument from the same register.
 */
const VFIO_GET_API_VERSION = 0x3b64;
const VFIO_CHECK_EXTENSION = 0x3b65;
const VFIO_SET_IOMMU = 0x3b66;
const VFIO_GROUP_GET_STATUS = 0x3b67;
const VFIO_GROUP_SET_CONTAINER = 0x3b68;
const VFIO_GROUP_GET_DEVICE_FD = 0x3b6a;
const VFIO_DEVICE_RESET = 0x3b6f;
const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = 0x3b70;
const VFIO_DEVICE_PCI_HOT_RESET = 0x3b71;
const VFIO_API_VERSION = 0;
const VFIO_TYPE1_IOMMU = 1;
const VFIO_TYPE1v2_IOMMU = 3;
const VFIO_GROUP_FLAGS_VIABLE = 1;
const ENOSPC = 28;

import { loadLibc, type Koffi } from './libc.js';

interface Ioctls {
  koffi: Koffi;
  ptr: (fd: number, req: number, arg: Buffer | null) => number;
  val: (fd: number, req: number, arg: number) => number;
  str: (fd: number, req: number, arg: string) => number;
  /** Where koffi's package is, for the worker thread; null in the single-file bundle (no node_modules). */
  koffiPath: string | null;
}

let loaded: Ioctls | null = null;

async function load(): Promise<Ioctls> {
  if (loaded) return loaded;
  const { koffi, libc: lib } = await loadLibc();
  loaded = {
    koffi,
    ptr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as Ioctls['ptr'],
    val: lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as Ioctls['val'],
    str: lib.func('ioctl', 'int', ['int', 'unsigned long', 'const char *']) as Ioctls['str'],
    koffiPath: resolveKoffi(),
  };
  return loaded;
}

function resolveKoffi(): string | null {
  try {
    return createRequire(import.meta.url).resolve('koffi');
  } catch {
    return null;
  }
}

/**
 * What a helper process can require() to get koffi: its package where there is a node_modules, else the
 * single-file bundle's koffi.node beside the bundle (the native module alone has load/func/errno).
 */
function koffiForHelper(io: Ioctls): string | null {
  if (io.koffiPath !== null) return io.koffiPath;
  const beside = path.join(path.dirname(fileURLToPath(import.meta.url)), 'koffi.node');
  return fs.existsSync(beside) ? beside : null;
}

/**
 * Where the blocking ioctls are made in `apply`: a helper process (src/apply/kernel-writer/), so that a
 * reset the kernel holds cannot keep the agent alive past its report (a worker thread asleep in an ioctl
 * is joined at exit, as libuv's pool is).
 */
export interface BlockingIoctls {
  ioctl(req: { koffi: string; fd: number; groups: number[]; request: number; label: string; what: string }): Promise<{ ret: number; errno: number }>;
}

const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 5: 'EIO', 11: 'EAGAIN', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 25: 'ENOTTY', 28: 'ENOSPC' };

function fail(errno: number, path: string, what: string): never {
  throw new AccessError(ERRNO_NAMES[errno] ?? `errno ${errno}`, path, what);
}

/**
 * A blocking ioctl on a worker thread, errno read there (koffi's errno is per thread). Where koffi's
 * package cannot be found for the worker (the single-file bundle), the call is made inline: it then holds
 * the event loop for the length of the reset, so other steps' waits run long, never short.
 */
function blockingIoctl(io: Ioctls, fd: number, req: number, arg: Buffer | null): Promise<{ ret: number; errno: number }> {
  if (io.koffiPath === null) {
    const ret = io.ptr(fd, req, arg);
    return Promise.resolve({ ret, errno: ret < 0 ? io.koffi.errno() : 0 });
  }
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const koffi = require(workerData.koffiPath);
    let lib; try { lib = koffi.load('libc.so.6'); } catch { lib = koffi.load(null); }
    const ioctl = lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']);
    const arg = workerData.arg ? Buffer.from(workerData.arg) : null;
    const ret = ioctl(workerData.fd, workerData.req, arg);
    parentPort.postMessage({ ret, errno: ret < 0 ? koffi.errno() : 0 });
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { koffiPath: io.koffiPath, fd, req, arg: arg ? new Uint8Array(arg) : null } });
    w.once('message', (m: { ret: number; errno: number }) => resolve(m));
    w.once('error', reject);
  });
}

interface Opened {
  container: number;
  group: number;
  device: number;
  close(): void;
}

/**
 * A VFIO node under the root, opened O_RDWR as the file checked: resolved by the kernel inside the root
 * (O_PATH, nothing opened), checked to be a character device, then reopened as that very file
 * (Root.reopen): a link planted at dev/vfio/N, or dev/vfio swapped for one, cannot lead to another device.
 */
function openVfioNode(root: Root, rel: string): { fd: number; path: string } {
  const host = root.lexical(rel);
  const pathFd = root.open(rel, { flags: O_PATH });
  try {
    if ((root.statFd(pathFd).mode & 0o170000) !== 0o020000) throw new AccessError('EFTYPE', host, 'not a character device (a VFIO node must be one): refused');
    return { fd: root.reopen(pathFd, fs.constants.O_RDWR, host), path: host };
  } finally {
    fs.closeSync(pathFd);
  }
}

/** Container, group (checked viable, attached, IOMMU set), device fd: what every VFIO user does first. */
function openDevice(io: Ioctls, root: Root, bdf: string, groupNo: number): Opened {
  const fds: number[] = [];
  const close = (): void => {
    for (const fd of fds.reverse()) {
      try {
        fs.closeSync(fd);
      } catch {
        // closing is best effort
      }
    }
  };
  try {
    const open = (rel: string): { fd: number; path: string } => {
      try {
        const o = openVfioNode(root, rel);
        fds.push(o.fd);
        return o;
      } catch (err) {
        throw AccessError.from(err, root.lexical(rel), 'open');
      }
    };
    const { fd: container, path: containerPath } = open('dev/vfio/vfio');
    if (io.val(container, VFIO_GET_API_VERSION, 0) !== VFIO_API_VERSION) fail(22, containerPath, 'unknown VFIO API version');
    const type = io.val(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
    const { fd: group, path: groupPath } = open(`dev/vfio/${groupNo}`);
    const status = Buffer.alloc(8);
    status.writeUInt32LE(8, 0);
    if (io.ptr(group, VFIO_GROUP_GET_STATUS, status) < 0) fail(io.koffi.errno(), groupPath, 'VFIO_GROUP_GET_STATUS');
    if (!(status.readUInt32LE(4) & VFIO_GROUP_FLAGS_VIABLE)) fail(1, groupPath, 'group not viable: a function in it is bound to a driver other than vfio-pci');
    const cfd = Buffer.alloc(4);
    cfd.writeInt32LE(container, 0);
    if (io.ptr(group, VFIO_GROUP_SET_CONTAINER, cfd) < 0) fail(io.koffi.errno(), groupPath, 'VFIO_GROUP_SET_CONTAINER');
    if (io.val(container, VFIO_SET_IOMMU, type) < 0) fail(io.koffi.errno(), containerPath, 'VFIO_SET_IOMMU');
    const device = io.str(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
    if (device < 0) fail(io.koffi.errno(), groupPath, `VFIO_GROUP_GET_DEVICE_FD ${bdf}`);
    fds.push(device);
    return { container, group, device, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** struct vfio_pci_hot_reset_info, asked once for the count (ENOSPC), then in full. */
function hotResetInfo(io: Ioctls, dev: Opened, where: string): { devices: VfioDependent[] } {
  let count = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const buf = Buffer.alloc(12 + 8 * count);
    buf.writeUInt32LE(buf.length, 0);
    const ret = io.ptr(dev.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf);
    if (ret < 0) {
      const errno = io.koffi.errno();
      if (errno === ENOSPC && attempt === 0) {
        count = buf.readUInt32LE(8);
        continue;
      }
      fail(errno, where, 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO');
    }
    const n = buf.readUInt32LE(8);
    const devices: VfioDependent[] = [];
    for (let i = 0; i < n; i++) {
      const o = 12 + 8 * i;
      const group = buf.readUInt32LE(o);
      const segment = buf.readUInt16LE(o + 4);
      const bus = buf.readUInt8(o + 6);
      const devfn = buf.readUInt8(o + 7);
      const bdf = `${segment.toString(16).padStart(4, '0')}:${bus.toString(16).padStart(2, '0')}:${(devfn >> 3).toString(16).padStart(2, '0')}.${devfn & 7}`;
      devices.push({ bdf, group });
    }
    return { devices };
  }
  fail(ENOSPC, where, 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: the list kept growing');
}

/** One blocking ioctl with no argument on a worker thread (exported for tests: fd 0 answers ENOTTY). */
export async function runBlockingIoctl(fd: number, req: number): Promise<{ ret: number; errno: number }> {
  return blockingIoctl(await load(), fd, req, null);
}

/**
 * The real VFIO backend for a root (device nodes under ROOT/dev/vfio). With `blocking` (apply: the
 * kernel writer) the two ioctls that last a whole reset are made by a helper process; without it on a
 * worker thread (or inline where the worker cannot find koffi).
 */
export async function createVfio(root: Root, blocking?: BlockingIoctls): Promise<VfioBackend> {
  const io = await load();
  const helperKoffi = blocking ? koffiForHelper(io) : null;
  /** The blocking ioctl on `dev.device`, with `groups` for a hot reset; the fds are duplicated for the helper. */
  const resetIoctl = (dev: Opened, req: number, groups: number[], arg: Buffer | null, bdf: string, what: string): Promise<{ ret: number; errno: number }> => {
    if (!blocking || helperKoffi === null) return blockingIoctl(io, dev.device, req, arg);
    // The helper inherits copies of the same open files as it starts; the agent's are closed as usual.
    return blocking.ioctl({ koffi: helperKoffi, fd: dev.device, groups, request: req, label: `vfio ${bdf}`, what });
  };
  return {
    async deviceReset(bdf, group) {
      const dev = openDevice(io, root, bdf, group);
      try {
        const { ret, errno } = await resetIoctl(dev, VFIO_DEVICE_RESET, [], null, bdf, 'VFIO_DEVICE_RESET');
        if (ret < 0) fail(errno, `vfio ${bdf}`, 'VFIO_DEVICE_RESET');
      } finally {
        dev.close();
      }
    },
    async hotResetInfo(bdf, group) {
      const dev = openDevice(io, root, bdf, group);
      try {
        return hotResetInfo(io, dev, `vfio ${bdf}`).devices;
      } finally {
        dev.close();
      }
    },
    async hotReset(bdf, group, groups) {
      const dev = openDevice(io, root, bdf, group);
      const extra: number[] = [];
      try {
        const fds: number[] = [];
        for (const g of groups) {
          if (g === group) {
            fds.push(dev.group);
            continue;
          }
          let fd: number;
          try {
            fd = openVfioNode(root, `dev/vfio/${g}`).fd;
          } catch (err) {
            throw AccessError.from(err, root.lexical(`dev/vfio/${g}`), 'open (a hot reset must prove ownership of every affected group)');
          }
          extra.push(fd);
          fds.push(fd);
        }
        const buf = Buffer.alloc(12 + 4 * fds.length);
        buf.writeUInt32LE(buf.length, 0);
        buf.writeUInt32LE(fds.length, 8);
        fds.forEach((fd, i) => buf.writeInt32LE(fd, 12 + 4 * i));
        const { ret, errno } = await resetIoctl(dev, VFIO_DEVICE_PCI_HOT_RESET, fds, buf, bdf, 'VFIO_DEVICE_PCI_HOT_RESET');
        if (ret < 0) fail(errno, `vfio ${bdf}`, 'VFIO_DEVICE_PCI_HOT_RESET');
      } finally {
        for (const fd of extra) fs.closeSync(fd);
        dev.close();
      }
    },
  };
}
