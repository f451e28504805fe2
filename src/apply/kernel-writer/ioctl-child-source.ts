/**
 * A one-shot helper for one ioctl that can sleep in the kernel for a whole reset (VFIO_DEVICE_RESET,
 * VFIO_DEVICE_PCI_HOT_RESET), run as `node -e`. It inherits the agent's descriptors in its stdio array:
 * fd 4 is the one the ioctl is made on (a VFIO device fd), fds 5… are the VFIO group fds a hot reset must
 * prove it owns (struct vfio_pci_hot_reset, include/uapi/linux/vfio.h). The agent sends one message,
 * `{ koffi, request, groups }`: where koffi is (its package, or the bundle's koffi.node), the ioctl number,
 * and how many group fds follow fd 4. The answer is `{ ret, errno }` (or `{ error }` when koffi cannot
 * load); then the helper exits. The ioctl is made on the helper's main thread: it has nothing else to do,
 * and the agent never waits for it past its own limit (it kills the helper as the run ends).
 */
export const IOCTL_CHILD_SOURCE = String.raw`'use strict';
process.once('message', (m) => {
  let res;
  try {
    const k = require(m.koffi);
    let lib;
    try { lib = k.load('libc.so.6'); } catch { lib = k.load(null); }
    const ioctl = lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']);
    let arg = null;
    if (m.groups > 0) {
      arg = Buffer.alloc(12 + 4 * m.groups);
      arg.writeUInt32LE(arg.length, 0);
      arg.writeUInt32LE(m.groups, 8);
      for (let i = 0; i < m.groups; i++) arg.writeInt32LE(5 + i, 12 + 4 * i);
    }
    const ret = ioctl(4, m.request, arg);
    res = { ret, errno: ret < 0 ? k.errno() : 0 };
  } catch (e) {
    res = { error: String((e && e.message) || e) };
  }
  process.send(res, () => process.exit(0));
});
`;
