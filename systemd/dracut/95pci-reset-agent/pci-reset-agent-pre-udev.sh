#!/bin/sh
# dracut pre-udev hook (non-systemd initramfs images): runs before udev starts, so before udev's
# coldplug loads and binds drivers. dracut *sources* hooks, so this must not exit or set shell options:
# it only calls the shared runner, which never fails and is a no-op outside a capture kernel.
/usr/libexec/pci-reset-agent/pci-reset-agent-kdump || :
