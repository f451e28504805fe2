#!/bin/bash
# The kdump-tools end-to-end (Debian bookworm, initramfs-tools), run by `npm run test:e2e` (e2e/run.sh):
#   1. npm run package:deb, then e2e/debian/build-guest.sh: a bookworm disk with kdump-tools, makedumpfile
#      and our .deb; kdump-tools builds its capture image with our hook (cached while the .deb and the
#      builder are unchanged)
#   2. boots it under QEMU (q35, intel-iommu, the devices of e2e/driver.mjs; one guest machine-wide:
#      flock /tmp/pra-qemu.lock); kdump-tools loads the capture kernel at boot as on a real box; the
#      harness service starts DMA and crashes the machine (sysrq-c); the capture kernel runs the agent
#      from the initramfs, then kdump-tools saves the dump with makedumpfile and reboots (QEMU exits)
#   3. reads the disk from the host (debugfs, nothing mounted) and checks it (e2e/debian/check.mjs)
# Env: PRA_E2E_DIR (cache, default .e2e), PRA_E2E_CRASHKERNEL (default 256M), PRA_E2E_ACCEL (default tcg).
# Prints "e2e-debian: N passed, M failed" last; status 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROJECT=$PWD
E2E=${PRA_E2E_DIR:-$PROJECT/.e2e}
OUT=$E2E/debian
RUN=$OUT/run
mkdir -p "$OUT"
T0=$SECONDS
log() { echo "# e2e-debian [$((SECONDS - T0))s] $*"; }

need=()
for pair in mmdebstrap:mmdebstrap debugfs:e2fsprogs mke2fs:e2fsprogs qemu-system-x86_64:qemu-system-x86 mksquashfs:squashfs-tools \
    dpkg-deb:dpkg strip:binutils; do
    command -v "${pair%%:*}" > /dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin command -v "${pair%%:*}" > /dev/null 2>&1 || need+=("${pair#*:}")
done
if [[ ${#need[@]} -gt 0 ]]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" > "$OUT/apt.log" 2>&1 || tail -n 20 "$OUT/apt.log"
fi
export PATH=$PATH:/sbin:/usr/sbin

# --- 1. package and guest (rebuilt when the .deb's contents or the guest builder change)
log "npm run package:deb"
OUT=$OUT/deb bash scripts/package-deb.sh > "$OUT/package.log" 2>&1 || { tail -n 20 "$OUT/package.log"; exit 1; }
DEB=$(ls "$OUT"/deb/pci-reset-agent_*_amd64.deb)
# The key: the package's file contents (not its times, nor the changelog's date), the builder, the guest
# files, and the install steps of docs/kdump.md the builder runs.
key=$( (dpkg-deb --fsys-tarfile "$DEB" | tar -xO --exclude='*changelog.gz' | sha256sum; cat e2e/debian/build-guest.sh; sed -n '/build-guest.sh runs the next block/,/^```$/p' docs/kdump.md; find e2e/debian/guest e2e/debian/guest-early -type f -print0 | sort -z | xargs -0 cat) | sha256sum | cut -c1-16)
GUEST=$OUT/guest
if [[ ! -f $GUEST/disk.img || $(cat "$GUEST/key" 2> /dev/null) != "$key" ]]; then
    log "building the guest (mmdebstrap; several minutes)"
    rm -rf "$GUEST"
    APT_CACHE=$OUT/apt-cache
    DEB=$DEB OUT=$GUEST CACHE=$APT_CACHE timeout 1500 bash e2e/debian/build-guest.sh > "$OUT/build-guest.log" 2>&1 ||
        { tail -n 30 "$OUT/build-guest.log"; echo "e2e-debian: 0 passed, 1 failed"; exit 1; }
    echo "$key" > "$GUEST/key"
fi
log "guest: $(cat "$GUEST/build.json")"

# --- 2. boot, crash, capture (the disk is copied: the cached one stays clean)
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

# --- 3. what is on the disk now
mkdir -p "$RUN/disk"
debugfs -R "ls -p /var/crash" "$RUN/disk.img" 2> /dev/null > "$RUN/var-crash.txt" || :
# (debugfs -p: /inode/mode/uid/gid/name/size/; kdump-tools names the directory by date, YYYYMMDDHHMM)
tr ' ' '\n' < "$RUN/var-crash.txt" | cut -d/ -f6 | grep -E '^[0-9]{12}$' | while read -r d; do
    debugfs -R "rdump /var/crash/$d $RUN/disk" "$RUN/disk.img" > /dev/null 2>&1 || :
done
debugfs -R "rdump /var/crash/pra-e2e $RUN/disk" "$RUN/disk.img" > /dev/null 2>&1 || :
# makedumpfile itself (the guest's own package, unpacked on the host) reassembles the flattened dump and
# reads the crashed kernel's log out of it: the dump is readable by the tool that wrote it.
mdf=$(find "$OUT/apt-cache" -name "makedumpfile_*.deb" 2> /dev/null | head -n 1)
dump=$(find "$RUN/disk" -name "dump.*" 2> /dev/null | head -n 1)
if [[ -n $mdf && -n $dump ]]; then
    rm -rf "$OUT/makedumpfile"
    dpkg-deb -x "$mdf" "$OUT/makedumpfile"
    "$OUT/makedumpfile/usr/bin/makedumpfile" -R "$RUN/dump.reassembled" < "$dump" > "$RUN/makedumpfile-R.log" 2>&1 || :
    "$OUT/makedumpfile/usr/bin/makedumpfile" --dump-dmesg "$RUN/dump.reassembled" "$RUN/dump-dmesg.txt" > "$RUN/makedumpfile-dmesg.log" 2>&1 || :
    rm -f "$RUN/dump.reassembled"
fi
node e2e/debian/check.mjs --run "$RUN" --guest "$GUEST" --crashkernel "$CK"
