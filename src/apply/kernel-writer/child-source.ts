/**
 * The helper process's whole program, run as `node -e` so that it needs no file of its own (the same in
 * the compiled tree, the single-file bundle and the tests). CommonJS, node: built-ins only.
 *
 * It takes requests over Node's IPC channel, `{ id, pid, fd, dev, ino, value }`: `fd` is a descriptor of
 * the agent (process `pid`), an O_PATH one the agent resolved inside the root and checked to be a regular
 * file. The helper opens that very file through procfs, `/proc/PID/fd/FD`, which names the agent's open
 * file itself and resolves no path again (proc_fd_link(), fs/proc/fd.c): a directory swapped for a link
 * after the check cannot redirect the write. The file opened is checked once more to be the one the agent
 * checked (st_dev and st_ino), then `value` is written once, on the helper's own libuv thread pool so that
 * the writes of independent steps overlap (UV_THREADPOOL_SIZE is inherited: the kdump runner sets 32).
 * Without procfs (never in a capture kernel: the initramfs mounts it) the agent's own host path is opened
 * without following a last link and the same check refuses anything else, before any write.
 *
 * It answers `{ id, ok: true }`, or `{ id, ok: false, code, syscall, message }` with the errno code of the
 * failed open or write. When the agent goes (the channel closes) it leaves too; a write the kernel still
 * holds keeps it until that write returns, and the agent does not wait for that.
 */
export const CHILD_SOURCE = String.raw`'use strict';
const fs = require('node:fs');
const { O_WRONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
function answer(id, err, syscall) {
  if (!process.connected) return;
  if (err) process.send({ id, ok: false, code: err.code || 'EIO', syscall, message: err.message });
  else process.send({ id, ok: true });
}
function open(m, cb) {
  fs.open('/proc/' + m.pid + '/fd/' + m.fd, O_WRONLY, (err, fd) => {
    if (err && err.code === 'ENOENT' && !fs.existsSync('/proc/self/fd')) return fs.open(m.path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK, cb);
    cb(err, fd);
  });
}
process.on('message', (m) => {
  open(m, (err, fd) => {
    if (err) return answer(m.id, err, 'open');
    fs.fstat(fd, { bigint: true }, (err1, st) => {
      if (!err1 && (String(st.dev) !== m.dev || String(st.ino) !== m.ino)) err1 = Object.assign(new Error('not the file the agent checked: nothing written'), { code: 'ESTALE' });
      if (err1) {
        fs.close(fd, () => {});
        return answer(m.id, err1, 'open');
      }
      fs.write(fd, m.value, (err2) => {
        fs.close(fd, () => {});
        answer(m.id, err2, 'write');
      });
    });
  });
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
`;
