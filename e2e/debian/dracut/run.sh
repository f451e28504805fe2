#!/bin/bash
# The real-dracut end-to-end (Debian bookworm with dracut 059 instead of initramfs-tools), run by
# `npm run test:e2e -- --all` (or PRA_E2E_DRACUT=yes):
#   1. npm run package:deb, then e2e/debian/dracut/build-guest.sh: the .deb's dracut module builds a
#      systemd-based kdump image with IN_KDUMP=1 as kdump-utils' mkdumprd runs dracut (no shim)
#   2. boots it under QEMU (the machine of e2e/debian/run.sh; flock /tmp/pra-qemu.lock); the harness loads
#      the capture kernel with `kexec -s -p` and kdumpctl's command line, starts DMA, crashes (sysrq-c);
#      the capture kernel's initramfs runs pci-reset-agent.service, goes on to the root file system, where
#      the harness saves the journal, the kernel log, the report and the drivers, and powers off
#   3. reads the disk with debugfs and checks it (e2e/debian/dracut/check.mjs): the unit ran before
#      systemd-udev-trigger.service (journal order) and did its job
# Env: PRA_E2E_DIR (cache, default .e2e), PRA_E2E_CRASHKERNEL (default 256M), PRA_E2E_ACCEL (default tcg),
#      PRA_E2E_DRACUT_SQUASH (yes|no, default yes): the kdump image squashed with dracut's squash module, as
#      kdump-utils' mkdumprd builds it wherever mksquashfs is installed (e2e/debian/dracut/build-guest.sh);
#      no: the unsquashed image. Each variant keeps its own guest and run directory.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PROJECT=$PWD
E2E=${PRA_E2E_DIR:-$PROJECT/.e2e}
SQUASH=${PRA_E2E_DRACUT_SQUASH:-yes}
case $SQUASH in yes | no) ;; *) echo "e2e-dracut: PRA_E2E_DRACUT_SQUASH=$SQUASH: expected yes or no"; exit 2 ;; esac
VARIANT=$([[ $SQUASH == yes ]] && echo squash || echo plain)
OUT=$E2E/debian-dracut
RUN=$OUT/run-$VARIANT
mkdir -p "$OUT"
T0=$SECONDS
log() { echo "# e2e-dracut [$((SECONDS - T0))s] $*"; }
export PATH=$PATH:/sbin:/usr/sbin
for c in mmdebstrap debugfs mke2fs qemu-system-x86_64 dpkg-deb; do
    command -v "$c" > /dev/null || { echo "e2e-dracut: $c missing (e2e/debian/run.sh installs it)"; echo "e2e-dracut: 0 passed, 1 failed"; exit 1; }
done

log "npm run package:deb"
OUT=$OUT/deb bash scripts/package-deb.sh > "$OUT/package.log" 2>&1 || { tail -n 20 "$OUT/package.log"; exit 1; }
DEB=$(ls "$OUT"/deb/pci-reset-agent_*_amd64.deb)
key=$( (dpkg-deb --fsys-tarfile "$DEB" | tar -xO --exclude='*changelog.gz' | sha256sum; find e2e/debian/dracut -type f ! -name check.mjs ! -name run.sh -print0 | sort -z | xargs -0 cat; echo "squash=$SQUASH") | sha256sum | cut -c1-16)
GUEST=$OUT/guest-$VARIANT
if [[ ! -f $GUEST/disk.img || $(cat "$GUEST/key" 2> /dev/null) != "$key" ]]; then
    log "building the $VARIANT guest (mmdebstrap, dracut; several minutes)"
    rm -rf "$GUEST"
    # The kdump-tools scenario's apt cache serves this one too (most packages are the same).
    APT_CACHE=$E2E/debian/apt-cache
    SQUASH=$SQUASH DEB=$DEB OUT=$GUEST CACHE=$APT_CACHE timeout 1500 bash e2e/debian/dracut/build-guest.sh > "$OUT/build-guest-$VARIANT.log" 2>&1 ||
        { tail -n 30 "$OUT/build-guest-$VARIANT.log"; echo "e2e-dracut: 0 passed, 1 failed"; exit 1; }
    echo "$key" > "$GUEST/key"
fi
log "guest: $(cat "$GUEST/build.json")"

rm -rf "$RUN"
mkdir -p "$RUN"
cp --sparse=always "$GUEST/disk.img" "$RUN/disk.img"
truncate -s 64M "$RUN/nvme.img"
ACCEL=${PRA_E2E_ACCEL:-tcg}
CK=${PRA_E2E_CRASHKERNEL:-256M}
rp() { echo "pcie-root-port,id=rp$1,chassis=$1,slot=$1,x-speed=2_5,x-width=1"; }
# shellcheck disable=SC2054 # commas are QEMU's, inside single arguments
args=(-machine q35,kernel-irqchip=split -accel "$ACCEL" -cpu max -smp 2 -m 1G -nodefaults -display none -no-reboot
    -serial "file:$RUN/console.log"
    -device intel-iommu,intremap=on,caching-mode=on
    -device "$(rp 1)" -netdev hubport,id=n1,hubid=0 -device e1000e,bus=rp1,netdev=n1
    -device "$(rp 2)" -drive "file=$RUN/nvme.img,if=none,id=d0,format=raw" -device nvme,drive=d0,serial=prae2e0,bus=rp2
    -device "$(rp 3)" -device pcie-pci-bridge,id=br1,bus=rp3 -netdev hubport,id=n3,hubid=0 -device e1000,bus=br1,addr=1,netdev=n3
    -device "$(rp 4)" -device x3130-upstream,id=up1,bus=rp4 -device xio3130-downstream,id=dn1,bus=up1,chassis=5,slot=0
    -netdev hubport,id=n4,hubid=0 -device virtio-net-pci,bus=dn1,netdev=n4
    -device "$(rp 6)" -drive "file=$RUN/disk.img,if=none,id=root,format=raw" -device virtio-blk-pci,drive=root,bus=rp6
    -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.img"
    -append "root=/dev/vda rw console=ttyS0 intel_iommu=on iomem=relaxed panic=10 crashkernel=$CK")
log "booting (crashkernel=$CK, $ACCEL; console: $RUN/console.log)"
t=$SECONDS
rc=0
flock /tmp/pra-qemu.lock timeout 1500 qemu-system-x86_64 "${args[@]}" > "$RUN/qemu.log" 2>&1 || rc=$?
echo "$((SECONDS - t))" > "$RUN/wall-seconds"
log "QEMU exited ($rc) after $((SECONDS - t)) s"
mkdir -p "$RUN/disk"
debugfs -R "rdump /var/crash/pra-e2e-dracut $RUN/disk" "$RUN/disk.img" > /dev/null 2>&1 || :
node e2e/debian/dracut/check.mjs --run "$RUN" --guest "$GUEST" --crashkernel "$CK"
