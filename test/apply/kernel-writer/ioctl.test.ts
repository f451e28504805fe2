import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelWriter } from '../../../src/apply/kernel-writer/kernel-writer.js';
import { tmpDir } from '../../helpers/tmp-root.js';

/**
 * The blocking VFIO ioctls (VFIO_DEVICE_RESET, VFIO_DEVICE_PCI_HOT_RESET) are made by a one-shot helper
 * process that inherits the descriptors. No VFIO device exists on this machine (no vfio-pci, no IOMMU
 * group): the ioctl is made for real on /dev/null (the kernel answers ENOTTY), and a call that never
 * returns is simulated by a stand-in "koffi" whose ioctl blocks the helper's thread for good.
 */
const VFIO_DEVICE_RESET = 0x3b6f;
const VFIO_DEVICE_PCI_HOT_RESET = 0x3b71;
const KOFFI = createRequire(import.meta.url).resolve('koffi');
const KOFFI_NODE = path.join(path.dirname(KOFFI), 'build/koffi', `${process.platform}_${process.arch}`, 'koffi.node');

const writers: KernelWriter[] = [];
const fds: number[] = [];
afterEach(() => {
  for (const w of writers.splice(0)) w.close();
  for (const fd of fds.splice(0)) fs.closeSync(fd);
});
function writer(): KernelWriter {
  const w = new KernelWriter();
  writers.push(w);
  return w;
}
function devNull(): number {
  const fd = fs.openSync('/dev/null', fs.constants.O_RDWR);
  fds.push(fd);
  return fd;
}

describe('a blocking ioctl in a one-shot helper process', () => {
  for (const [name, koffi] of [['koffi', KOFFI], ["the bundle's koffi.node", KOFFI_NODE]] as const) {
    it(`is made on the inherited descriptor, with the errno (through ${name}); the caller's fds stay the caller's`, async () => {
      const w = writer();
      const fd = devNull();
      expect(await w.ioctl({ koffi, fd, groups: [], request: VFIO_DEVICE_RESET, label: 'vfio 0000:01:00.0', what: 'VFIO_DEVICE_RESET' })).toEqual({ ret: -1, errno: 25 });
      expect(await w.ioctl({ koffi, fd, groups: [devNull(), devNull()], request: VFIO_DEVICE_PCI_HOT_RESET, label: 'vfio 0000:01:00.0', what: 'VFIO_DEVICE_PCI_HOT_RESET' })).toEqual({ ret: -1, errno: 25 });
      expect(fs.fstatSync(fd).isCharacterDevice()).toBe(true);
      expect(w.inFlight()).toEqual([]);
    });
  }

  it('a helper that cannot load koffi answers EIO naming the call', async () => {
    await expect(writer().ioctl({ koffi: '/nonexistent/koffi', fd: devNull(), groups: [], request: VFIO_DEVICE_RESET, label: 'vfio 0000:01:00.0', what: 'VFIO_DEVICE_RESET' })).rejects.toThrow(
      /vfio 0000:01:00.0: VFIO_DEVICE_RESET: the helper process could not make the call: Cannot find module/,
    );
  });

  it('a call that never returns (simulated) stays in its helper: close() names it, kills the helper, never settles it', async () => {
    const fake = path.join(tmpDir(), 'koffi-that-blocks.cjs');
    fs.writeFileSync(
      fake,
      `module.exports = { load: () => ({ func: () => () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 0; } }), errno: () => 0 };\n`,
    );
    const w = writer();
    let settled = false;
    void w.ioctl({ koffi: fake, fd: devNull(), groups: [], request: VFIO_DEVICE_RESET, label: 'vfio 0000:01:00.0', what: 'VFIO_DEVICE_RESET' }).then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toBe(false);
    expect(w.inFlight()).toEqual([{ path: 'vfio 0000:01:00.0', value: 'VFIO_DEVICE_RESET', forMs: expect.any(Number) }]);
    const helpers = children();
    expect(helpers.length).toBe(1);
    expect(w.close()).toEqual([{ path: 'vfio 0000:01:00.0', value: 'VFIO_DEVICE_RESET', forMs: expect.any(Number) }]);
    const end = Date.now() + 20000;
    while (children().length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(children()).toEqual([]);
    expect(settled).toBe(false);
  });
});

/** This process's live (not zombie) children running the ioctl helper. */
function children(): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid || fields[0] === 'Z') continue;
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes("process.once('message'")) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}
