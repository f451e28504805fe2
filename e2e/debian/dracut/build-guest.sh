#!/bin/bash
# Builds the Debian bookworm guest for the real-dracut end-to-end (e2e/debian/dracut/run.sh): dracut 059
# instead of initramfs-tools, kexec-tools, the self-contained node stand-in (as e2e/debian/build-guest.sh
# makes it) and our .deb, which also installs the dracut module. Then the kdump image, as kdump-utils'
# mkdumprd has dracut build it: IN_KDUMP=1 in dracut's environment (our module's check() keys on it;
# it is not named with --add), a systemd-based image, `-o "plymouth resume ifcfg earlykdump"`. Debian has
# no kdump-utils (no kdumpbase module): the capture kernel goes on to the root file system, where the
# harness saves the evidence (e2e/debian/dracut/guest/).
# SQUASH=yes (the default): the kdump image as mkdumprd builds it on a machine with mksquashfs, which is
# every Fedora/RHEL machine with squashfs-tools (our package depends on it): mkdumprd adds `--add squash --squash-compressor zstd` when
# dracut has no squash-squashfs module (dracut <= 103; bookworm has 059) and mksquashfs is installed
# (kdump-utils mkdumprd, "only true for dracut <= 103"). Debian ships dracut's squash module apart, in
# dracut-squash. Every file of such an image except a small loader then sits in squash-root.img inside the
# cpio (dracut.sh: squash_img="$initdir/squash-root.img"), our node.squashfs included. SQUASH=no: unsquashed.
# Out: $OUT/disk.img, $OUT/vmlinuz, $OUT/initrd.img, $OUT/kdump-initrd.img, $OUT/*.list, $OUT/build.json.
# Env: DEB, OUT (required), CACHE (apt .deb cache), MIRROR, SQUASH (yes|no, default yes).
# shellcheck disable=SC2016 # mmdebstrap hooks: $1 is the hook's own argument (the root directory)
set -euo pipefail
: "${DEB:?}" "${OUT:?}"
SQUASH=${SQUASH:-yes}
case $SQUASH in yes | no) ;; *) echo "build-guest-dracut: SQUASH=$SQUASH: expected yes or no" >&2; exit 2 ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CACHE:-$OUT/apt-cache}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$OUT" "$CACHE"
T0=$SECONDS
log() { echo "# build-guest-dracut [$((SECONDS - T0))s] $*"; }

NODE=$(command -v node)
NODEVER=$("$NODE" -p 'process.versions.node')
NODEDEB=$OUT/nodejs_${NODEVER}-pra1_amd64.deb
if [[ ! -f $NODEDEB ]]; then
    st=$(mktemp -d)
    install -D -m 0755 "$NODE" "$st/usr/bin/node"
    strip "$st/usr/bin/node" 2> /dev/null || :
    mkdir -p "$st/DEBIAN"
    printf 'Package: nodejs\nVersion: %s-pra1\nArchitecture: amd64\nMaintainer: pci-reset-agent e2e <e2e@invalid>\nDepends: libc6, libstdc++6, libgcc-s1\nDescription: stand-in for NodeSource nodejs %s (e2e only)\n The host node binary, packaged for the pci-reset-agent e2e guest.\n' "$NODEVER" "$NODEVER" > "$st/DEBIAN/control"
    dpkg-deb --root-owner-group -Zgzip --build "$st" "$NODEDEB" > /dev/null
    rm -rf "$st"
fi

ROOTFS=$OUT/rootfs
rm -rf "$ROOTFS" "$OUT/disk.img" "$OUT/in"
mkdir -p "$OUT/in"
cp "$DEB" "$NODEDEB" "$OUT/in/"
PKGS=dracut,linux-image-amd64,systemd-sysv,udev,kexec-tools,kmod,squashfs-tools,zstd,busybox,binutils,pciutils,procps,e2fsprogs,libstdc++6
KDUMP_ADD=
if [[ $SQUASH == yes ]]; then
    PKGS=$PKGS,dracut-squash
    KDUMP_ADD='--add squash --squash-compressor zstd'
fi
log "mmdebstrap bookworm ($PKGS)"
mmdebstrap --variant=minbase --include="$PKGS" \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in $CACHE /var/cache/apt/archives" \
    --essential-hook="copy-in $HERE/guest-early/etc/dracut.conf.d /etc" \
    --customize-hook="sync-out /var/cache/apt/archives $CACHE" \
    --customize-hook='echo pra-guest > "$1/etc/hostname"; echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$1/etc/fstab"' \
    --customize-hook='chroot "$1" passwd -d root' \
    --customize-hook="copy-in $OUT/in/$(basename "$NODEDEB") $OUT/in/$(basename "$DEB") /tmp" \
    --customize-hook='chroot "$1" sh -c "dpkg -i /tmp/nodejs_*.deb && dpkg -i --force-confold /tmp/pci-reset-agent_*.deb" > "$1/root/dpkg-i.log" 2>&1' \
    --customize-hook="copy-in $HERE/guest/. /" \
    --customize-hook='chroot "$1" systemctl enable pra-e2e-dracut.service pra-e2e-dracut-capture.service' \
    --customize-hook='KVER=$(ls "$1/lib/modules"); chroot "$1" dracut -f "/boot/initrd.img-$KVER" "$KVER" > "$1/root/dracut-initrd.log" 2>&1' \
    --customize-hook='KVER=$(ls "$1/lib/modules"); chroot "$1" env IN_KDUMP=1 dracut -f -o "plymouth resume ifcfg earlykdump" '"$KDUMP_ADD"' "/boot/initramfs-${KVER}kdump.img" "$KVER" > "$1/root/dracut-kdump.log" 2>&1 || { tail -n 30 "$1/root/dracut-kdump.log"; exit 1; }' \
    --customize-hook='KVER=$(ls "$1/lib/modules"); chroot "$1" lsinitrd "/boot/initramfs-${KVER}kdump.img" > "$1/root/kdump-initrd.list" 2>&1; chroot "$1" lsinitrd "/boot/initrd.img-$KVER" > "$1/root/initrd.list" 2>&1' \
    bookworm "$ROOTFS" "$MIRROR" > "$OUT/mmdebstrap.log" 2>&1 || { tail -n 30 "$OUT/mmdebstrap.log"; exit 1; }
KVER=$(ls "$ROOTFS/lib/modules")
log "kernel $KVER; kdump image $(stat -c %s "$ROOTFS/boot/initramfs-${KVER}kdump.img") bytes"
cp "$ROOTFS/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$ROOTFS/boot/initrd.img-$KVER" "$OUT/initrd.img"
cp "$ROOTFS/boot/initramfs-${KVER}kdump.img" "$OUT/kdump-initrd.img"
for f in dpkg-i.log dracut-initrd.log dracut-kdump.log kdump-initrd.list initrd.list; do cp "$ROOTFS/root/$f" "$OUT/" 2> /dev/null || :; done
log "disk image"
mke2fs -q -t ext4 -L root -d "$ROOTFS" "$OUT/disk.img" 3G
rm -rf "$ROOTFS" "$OUT/in"
printf '{"kernel":"%s","node":"%s","deb":"%s","squash":"%s","kdumpImageBytes":%d,"buildSeconds":%d}\n' "$KVER" "$NODEVER" "$(basename "$DEB")" "$SQUASH" "$(stat -c %s "$OUT/kdump-initrd.img")" "$((SECONDS - T0))" > "$OUT/build.json"
log "done"
