#!/bin/bash
# Builds the Debian bookworm guest disk for the kdump-tools end-to-end (e2e/debian/run.sh):
#   mmdebstrap: linux-image-amd64, systemd, udev, makedumpfile, kexec-tools, initramfs-tools, busybox,
#   a self-contained node >= 20 (see below), then the Debian install steps of docs/kdump.md, run as
#   written (see "the install steps" below): `apt install kdump-tools ./pci-reset-agent_<v>_amd64.deb`,
#   then kdump-tools' own kernel hook, which builds its capture image (/var/lib/kdump/initrd.img-KVER)
#   with our initramfs-tools hook, as on a real box. kdump-config load rebuilds the image when
#   /etc/kdump/sysctl.conf differs from its record of the last build (check_sysctl_change), so the
#   record is written too: the image booted is the one built and listed here (a rebuild in the guest
#   under TCG costs minutes, mostly mksquashfs).
# Out: $OUT/disk.img (ext4, no partition table: root=/dev/vda), $OUT/vmlinuz, $OUT/initrd.img (the guest's
#      own boot files, for QEMU -kernel/-initrd), $OUT/kdump-initrd.img (the capture image kdump-tools built),
#      $OUT/build.json (versions, sizes, times).
# Env: DEB (our .deb, required), OUT (required), CACHE (apt .deb cache kept across runs), MIRROR.
#
# Node: the package depends on nodejs (>= 20); bookworm's own is 18 and split (libnode + built-ins in
# /usr/share/nodejs), and NodeSource (whose nodejs 20 is what docs/kdump.md tells bookworm users to add)
# is not reachable from CI. So the e2e stands in for NodeSource's package with a "nodejs" .deb made
# here from the host's self-contained node (the same binary the unit tests run).
# shellcheck disable=SC2016 # mmdebstrap hooks: $1 is the hook's own argument (the root directory)
set -euo pipefail
: "${DEB:?}" "${OUT:?}"
CACHE=${CACHE:-$OUT/apt-cache}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$OUT" "$CACHE"
T0=$SECONDS
log() { echo "# build-guest [$((SECONDS - T0))s] $*"; }

# --- the nodejs stand-in
NODE=$(command -v node)
NODEVER=$("$NODE" -p 'process.versions.node')
NODEDEB=$OUT/nodejs_${NODEVER}-pra1_amd64.deb
if [[ ! -f $NODEDEB ]]; then
    st=$(mktemp -d)
    install -D -m 0755 "$NODE" "$st/usr/bin/node"
    strip "$st/usr/bin/node" 2> /dev/null || :
    mkdir -p "$st/DEBIAN"
    cat > "$st/DEBIAN/control" << CTL
Package: nodejs
Version: ${NODEVER}-pra1
Architecture: amd64
Maintainer: pci-reset-agent e2e <e2e@invalid>
Depends: libc6, libstdc++6, libgcc-s1
Provides: nodejs-stand-in
Description: stand-in for NodeSource's nodejs ${NODEVER} (e2e only)
 The host's self-contained node binary, packaged for the pci-reset-agent e2e guest.
CTL
    dpkg-deb --root-owner-group -Zgzip --build "$st" "$NODEDEB" > /dev/null
    rm -rf "$st"
fi

# --- the root file system
ROOTFS=$OUT/rootfs
rm -rf "$ROOTFS" "$OUT/disk.img" "$OUT/in"
mkdir -p "$OUT/in"
# kdump-tools itself is NOT in the list: the install steps of docs/kdump.md install it (with our .deb).
PKGS=linux-image-amd64,systemd-sysv,udev,makedumpfile,kexec-tools,initramfs-tools,busybox,kmod,squashfs-tools,binutils,pciutils,procps,e2fsprogs,libstdc++6

# --- the install steps exactly as docs/kdump.md gives them for Debian/Ubuntu (the sh block after its
# "build-guest.sh runs the next block" marker), run in the chroot one line at a time, with two stand-ins a
# chroot needs: `uname -r` answers the guest's kernel release (a chroot's uname is the host's), and
# `kdump-config reload` is left to the guest's own boot (kdump-tools.service runs `kdump-config load`;
# in a chroot it would kexec the HOST's kernel). `pci-reset-agent footprint` runs in the guest's first
# kernel (e2e/debian/guest/usr/local/sbin/pra-e2e-crash), where /proc/cmdline is the guest's.
DOCS=$(dirname "$0")/../../docs/kdump.md
awk '/build-guest.sh runs the next block/ { m = 1; next } m == 1 && /^```sh/ { m = 2; next } m == 2 && /^```/ { exit } m == 2' "$DOCS" > "$OUT/install-steps.sh"
grep -q '^apt install kdump-tools ' "$OUT/install-steps.sh" || { echo "build-guest: no Debian install steps found in $DOCS" >&2; exit 1; }
{
    echo 'set -ex'
    echo 'export DEBIAN_FRONTEND=noninteractive PATH=/root/pra-e2e-shims:$PATH'
    echo 'cd /tmp'
    grep -v -e '^#' -e '^kdump-config reload' -e '^pci-reset-agent footprint' "$OUT/install-steps.sh"
} > "$OUT/in/install-steps.sh"
mkdir -p "$OUT/in/pra-e2e-shims"
cat > "$OUT/in/pra-e2e-shims/uname" << 'SHIM'
#!/bin/sh
# e2e chroot stand-in: the guest's kernel release for `uname -r`, the host's uname otherwise.
[ "$*" = -r ] && exec ls /lib/modules
exec /bin/uname "$@"
SHIM
chmod 0755 "$OUT/in/pra-e2e-shims/uname"
# apt asks before installing anything beyond what the line names; a chroot has no one to answer. The
# guest's own /etc/pci-reset-agent/kdump.conf (e2e/debian/guest/) is there before the package: keep it.
printf '%s\n' 'APT::Get::Assume-Yes "true";' 'Dpkg::Options { "--force-confold"; };' > "$OUT/in/90pra-e2e-assume-yes"
log "mmdebstrap bookworm ($PKGS)"
cp "$DEB" "$NODEDEB" "$OUT/in/"
# kdump-tools: enable it, keep 256M for the capture kernel (on the command line QEMU gives), and let the
# e2e harness copy the capture kernel's evidence to the disk before the dump (kdump-tools-dump.service
# runs in the capture kernel; /run still holds what the initramfs agent wrote).
mmdebstrap --variant=minbase --include="$PKGS" \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in $CACHE /var/cache/apt/archives" \
    --essential-hook="sync-out /var/cache/apt/archives $CACHE" \
    --essential-hook="copy-in $(dirname "$0")/guest-early/etc/initramfs-tools /etc" \
    --customize-hook='echo pra-guest > "$1/etc/hostname"; echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$1/etc/fstab"' \
    --customize-hook='chroot "$1" passwd -d root' \
    --customize-hook="copy-in $OUT/in/$(basename "$NODEDEB") $OUT/in/$(basename "$DEB") $OUT/in/install-steps.sh /tmp" \
    --customize-hook="copy-in $OUT/in/pra-e2e-shims /root" \
    --customize-hook="copy-in $OUT/in/90pra-e2e-assume-yes /etc/apt/apt.conf.d" \
    --customize-hook='chroot "$1" sh -c "dpkg -i /tmp/nodejs_*.deb" > "$1/root/dpkg-i.log" 2>&1' \
    --customize-hook="copy-in $(dirname "$0")/guest/. /" \
    --customize-hook='chroot "$1" systemctl enable pra-e2e.service' \
    --customize-hook='chroot "$1" sh /tmp/install-steps.sh > "$1/root/kdump-initrd.log" 2>&1 || { tail -n 30 "$1/root/kdump-initrd.log"; exit 1; }' \
    --customize-hook='rm -rf "$1/root/pra-e2e-shims" "$1/etc/apt/apt.conf.d/90pra-e2e-assume-yes"' \
    --customize-hook="sync-out /var/cache/apt/archives $CACHE" \
    --customize-hook='sed -i "s/^#*USE_KDUMP=.*/USE_KDUMP=1/" "$1/etc/default/kdump-tools"' \
    --customize-hook='chroot "$1" update-initramfs -u -k all > "$1/root/update-initramfs.log" 2>&1' \
    --customize-hook='KVER=$(ls "$1/lib/modules"); cp "$1/etc/kdump/sysctl.conf" "$1/var/lib/kdump/latest_sysctls-$KVER"' \
    --customize-hook='KVER=$(ls "$1/lib/modules"); chroot "$1" lsinitramfs -l "/var/lib/kdump/initrd.img-$KVER" > "$1/root/kdump-initrd.list"; chroot "$1" lsinitramfs -l "/boot/initrd.img-$KVER" > "$1/root/initrd.list"' \
    --customize-hook='KVER=$(ls "$1/lib/modules"); chroot "$1" pci-reset-agent footprint --image "/var/lib/kdump/initrd.img-$KVER" --json > "$1/root/footprint.json" 2> "$1/root/footprint.err" || :' \
    bookworm "$ROOTFS" "$MIRROR" > "$OUT/mmdebstrap.log" 2>&1 || { tail -n 30 "$OUT/mmdebstrap.log"; exit 1; }
KVER=$(ls "$ROOTFS/lib/modules")
log "kernel $KVER; kdump initrd: $(stat -c %s "$ROOTFS/var/lib/kdump/initrd.img-$KVER") bytes"
cp "$ROOTFS/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$ROOTFS/boot/initrd.img-$KVER" "$OUT/initrd.img"
cp "$ROOTFS/var/lib/kdump/initrd.img-$KVER" "$OUT/kdump-initrd.img"
for f in kdump-initrd.log update-initramfs.log dpkg-i.log kdump-initrd.list initrd.list footprint.json footprint.err footprint.txt; do
    cp "$ROOTFS/root/$f" "$OUT/" 2> /dev/null || :
done
log "disk image"
mke2fs -q -t ext4 -L root -d "$ROOTFS" "$OUT/disk.img" 3G
rm -rf "$ROOTFS" "$OUT/in"
printf '{"kernel":"%s","node":"%s","deb":"%s","buildSeconds":%d}\n' "$KVER" "$NODEVER" "$(basename "$DEB")" "$((SECONDS - T0))" > "$OUT/build.json"
log "done"
