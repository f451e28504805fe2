/**
 * The helper process's whole program, run as `node -e` so that it needs no file of its own (the same in
 * the compiled tree, the single-file bundle and the tests). CommonJS, node: built-ins only.
 *
 * It takes requests over Node's IPC channel, `{ id, path, value }`, opens `path` write-only without
 * following a final link and writes `value` once, on its own libuv thread pool so that the writes of
 * independent steps overlap (UV_THREADPOOL_SIZE is inherited: the kdump runner sets 32). It answers
 * `{ id, ok: true }`, or `{ id, ok: false, code, syscall, message }` with the errno code of the failed
 * open or write. When the agent goes (the channel closes) it leaves too; a write the kernel still holds
 * keeps it until that write returns, and the agent does not wait for that.
 */
export const CHILD_SOURCE = String.raw`'use strict';
const fs = require('node:fs');
const FLAGS = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW;
function answer(id, err, syscall) {
  if (!process.connected) return;
  if (err) process.send({ id, ok: false, code: err.code || 'EIO', syscall, message: err.message });
  else process.send({ id, ok: true });
}
process.on('message', (m) => {
  fs.open(m.path, FLAGS, (err, fd) => {
    if (err) return answer(m.id, err, 'open');
    fs.write(fd, m.value, (err2) => {
      fs.close(fd, () => {});
      answer(m.id, err2, 'write');
    });
  });
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
`;
