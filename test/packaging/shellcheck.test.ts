import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT, have } from './paths.js';

// Every shell file that ships or drives the e2e, with the shell it runs under. module-setup.sh is sourced by
// dracut's bash; the runner, hook and guest init must work under any POSIX sh (busybox, dash).
const FILES: Array<[string, 'sh' | 'bash']> = [
  ['systemd/dracut/95pci-reset-agent/module-setup.sh', 'bash'],
  ['systemd/dracut/95pci-reset-agent/pci-reset-agent-kdump.sh', 'sh'],
  ['systemd/dracut/95pci-reset-agent/pci-reset-agent-pre-udev.sh', 'sh'],
  ['systemd/initramfs-tools/hooks/pci-reset-agent', 'sh'],
  ['systemd/initramfs-tools/scripts/init-top/pci-reset-agent', 'sh'],
  ['scripts/install-dracut.sh', 'sh'],
  ['scripts/package-deb.sh', 'bash'],
  ['packaging/debian/postinst', 'sh'],
  ['packaging/debian/postrm', 'sh'],
  ['e2e/debian/run.sh', 'bash'],
  ['e2e/debian/build-guest.sh', 'bash'],
  ['e2e/debian/guest/usr/local/sbin/pra-e2e-crash', 'sh'],
  ['e2e/guest/init', 'sh'],
  ['e2e/run.sh', 'bash'],
  ['e2e/lib/build-images.sh', 'bash'],
  ['e2e/lib/dracut-shim.sh', 'bash'],
  ['e2e/footprint.sh', 'bash'],
  ['e2e/arm64/init', 'sh'],
  ['e2e/arm64/run.sh', 'bash'],
  ['e2e/arm64/build-image.sh', 'bash'],
  ['e2e/arm64/fetch-debs.sh', 'bash'],
];

// .ci/run installs shellcheck; elsewhere the test says why it did not run.
describe.skipIf(!have('shellcheck'))('shellcheck (skipped when shellcheck is not installed: apt-get install shellcheck)', () => {
  it.each(FILES)('%s is clean under %s', (file, shell) => {
    const r = spawnSync('shellcheck', ['-x', '-s', shell, '-S', 'style', file], { cwd: PROJECT, encoding: 'utf8' });
    expect(r.stdout + r.stderr, path.basename(file)).toBe('');
    expect(r.status).toBe(0);
  });
});
