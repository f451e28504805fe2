import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/tmp-root.js';

const RUNNER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../systemd/dracut/95pci-reset-agent/pci-reset-agent-kdump.sh');

/** Shells a kdump image may run the runner with; busybox only where installed. */
const SHELLS = [['/bin/sh'], ['/bin/busybox', 'sh']].filter(([bin]) => fs.existsSync(bin!));

/** Call pra_log with `text` as its argument, the kernel log being a temp file; the file's bytes. */
function logged(shell: string[], text: string, env: Record<string, string> = {}): Buffer {
  const kmsg = path.join(tmpDir(), 'kmsg');
  fs.writeFileSync(kmsg, '');
  const r = spawnSync(shell[0]!, [...shell.slice(1), '-c', `. "${RUNNER}"; pra_log "$PRA_TEXT"; pra_log 'x\\n<0>KERNEL PANIC'`], {
    env: { ...process.env, PRA_SOURCE_ONLY: '1', PRA_KMSG: kmsg, PRA_CONF: '/nonexistent', PRA_TEXT: text, ...env },
    encoding: 'buffer',
  });
  expect(r.status, r.stderr.toString()).toBe(0);
  return fs.readFileSync(kmsg);
}

/**
 * Regression: the runner passed the tail of the agent's output to the kernel log with `echo`, so a line
 * holding a newline and `<0>KERNEL PANIC` (or `\n`, which dash's echo turns into one) became a forged
 * line, and terminal escapes reached the console.
 */
describe('the kdump runner writes only inert text to the kernel log', () => {
  const hostile = 'ixgbe\n<0>KERNEL PANIC\r\u001b[2J\u007f\u009b31m';
  for (const shell of SHELLS) {
    for (const withTr of [true, false]) {
      it(`${shell.join(' ')}, ${withTr ? 'with tr' : 'without tr (PATH empty: the shell-only fallback)'}`, () => {
        const out = logged(shell, hostile, withTr ? {} : { PATH: '/nonexistent' });
        const lines = out.toString('latin1').split('\n');
        expect(lines.pop()).toBe('');
        expect(lines).toHaveLength(2);
        for (const line of lines) {
          expect(line).toMatch(/^<5>pci-reset-agent: /);
          expect(line).not.toMatch(/[\x00-\x1f\x7f\x9b]/);
        }
        expect(lines[0]).toMatch(/^<5>pci-reset-agent: ixgbe\?<0>KERNEL PANIC\?\?\[2J\?/);
        // A literal backslash-n stays two characters (printf '%s', not echo).
        expect(lines[1]).toBe('<5>pci-reset-agent: x\\n<0>KERNEL PANIC');
      });
    }
  }
});

/**
 * The agent's deadline must end well before the runner's PRA_TIMEOUT kill: the runner tells node when the
 * kill timer started (PRA_EXEC_UPTIME, src/cli/exec-origin.ts), since node's own clock starts only after
 * its cold start from the squashfs.
 */
describe('the kdump runner tells node when its kill timer started', () => {
  for (const shell of SHELLS) {
    it(`${shell.join(' ')}: PRA_EXEC_UPTIME is /proc/uptime at the exec`, () => {
      const fake = path.join(tmpDir(), 'node');
      fs.writeFileSync(fake, '#!/bin/sh\necho "exec=$PRA_EXEC_UPTIME"\n', { mode: 0o755 });
      const before = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      const r = spawnSync(shell[0]!, [...shell.slice(1), '-c', `. "${RUNNER}"; PRA_NODE="$FAKE_NODE"; PRA_NODE_OPTIONS=; pra_exec_agent apply`], {
        env: { ...process.env, PRA_SOURCE_ONLY: '1', PRA_CONF: '/nonexistent', FAKE_NODE: fake },
        encoding: 'utf8',
      });
      const after = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      expect(r.status, r.stderr).toBe(0);
      const at = Number(/^exec=(\d+(\.\d+)?)$/m.exec(r.stdout)?.[1]);
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after);
    });
  }
});
