#!/bin/bash
# Build the e2e guest images around the bundle. Adapted from shared/reference/qemu-kdump/build-initramfs.sh
# (busybox-static base, modules with depmod inside the image, a second cpio appended for the first kernel),
# except that the agent, node and its hook are installed by the shipped dracut module
# (systemd/dracut/95pci-reset-agent/module-setup.sh) through e2e/lib/dracut-shim.sh.
#
# Env: KDIR KVER (unpacked kernel package), BUNDLE (dist/bundle), OUT (output dir), CACHE (reusable blobs),
#      COMP (initramfs compressor command, default "zstd -q -10 -T0")
# Out: $OUT/capture.img    the kdump image: what the capture kernel boots (and the plain boot uses)
#      $OUT/first.img      capture.img's content + kexec, /boot/vmlinuz and /boot/capture.img
#      $OUT/footprint.json sizes: whole image and the agent's share, unpacked and compressed
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PROJECT=$(cd "$HERE/../.." && pwd)
: "${KDIR:?}" "${KVER:?}" "${BUNDLE:?}" "${OUT:?}"
CACHE=${CACHE:-$OUT/cache}
COMP=${COMP:-zstd -q -10 -T0}
mkdir -p "$OUT"
STAGE=$(mktemp -d "$OUT/stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,boot,lib64,lib/x86_64-linux-gnu}

# --- the base every kdump image has: a shell and core tools (busybox here), /init, kernel modules
cp /bin/busybox "$ROOT/bin/busybox"
for a in $(/bin/busybox --list); do [ -e "$ROOT/bin/$a" ] || ln -s busybox "$ROOT/bin/$a"; done
install -m 0755 "$PROJECT/e2e/guest/init" "$ROOT/init"
# kexec-tools' vmcore-dmesg: kdump images carry it (it prints the crashed kernel's log from /proc/vmcore).
copy_with_libs() { # host binary -> same path in the image, with its libraries
    install -D -m 0755 "$1" "$ROOT$1"
    ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
        [ -e "$ROOT$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$ROOT$lib"
    done
}
copy_with_libs /usr/sbin/vmcore-dmesg
[ -f "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"
DEVICE_MODS="e1000e nvme e1000 virtio_pci virtio_net"
for m in $DEVICE_MODS; do
    modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | sort -u | while read -r ko; do
    install -D -m 0644 "$ko" "$ROOT${ko#"$KDIR"}"
done
base_bytes=$(du -sb --apparent-size "$ROOT" | cut -f1)

# --- the agent, exactly as the dracut module installs it into a kdump image
MANIFEST=$STAGE/agent.manifest
: > "$MANIFEST"
# PRA_E2E_NO_AGENT=1: the same image without the agent, for the baseline of the footprint measurement.
[ "${PRA_E2E_NO_AGENT:-0}" = 1 ] || (
    export initdir=$ROOT moddir=$PROJECT/systemd/dracut/95pci-reset-agent KDIR KVER
    export IN_KDUMP=1 PCI_RESET_AGENT_LIBDIR=$BUNDLE PRA_SHIM_MANIFEST=$MANIFEST PRA_SHIM_CACHE=$CACHE/squashfs
    # The e2e machine's admin quirk table (see the file), as an admin's /etc/pci-reset-agent would be.
    export PCI_RESET_AGENT_ETCDIR=$PROJECT/e2e/guest/etc
    # shellcheck source=e2e/lib/dracut-shim.sh
    . "$HERE/dracut-shim.sh"
    pra_shim_module
)
cp "$KDIR/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KVER/" 2> /dev/null || true
depmod -b "$ROOT" "$KVER"

cpio_of() { # DIR [LIST]: newc archive of DIR (or of the listed paths) on stdout
    if [ $# -gt 1 ]; then
        (cd "$1" && sed 's|^/|./|' "$2" | cpio -o -H newc --owner 0:0 --quiet)
    else
        (cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner 0:0 --quiet)
    fi
}
cpio_of "$ROOT" | $COMP -c > "$OUT/capture.img"

# --- what the agent adds (its files only: bundle, koffi.node, quirk tables, node.squashfs, glibc libraries
# node needs that the base lacked, loop/squashfs modules, runner, hook)
agent_bytes=0
while read -r f; do agent_bytes=$((agent_bytes + $(stat -c %s "$ROOT$f"))); done < "$MANIFEST"
agent_comp=$(cpio_of "$ROOT" "$MANIFEST" | $COMP -c | wc -c)
agent_gz=$(cpio_of "$ROOT" "$MANIFEST" | gzip -6 -c | wc -c)
node_sq=$(stat -c %s "$ROOT/usr/lib/pci-reset-agent/node.squashfs" 2> /dev/null || echo 0)
total_bytes=$(du -sb --apparent-size "$ROOT" | cut -f1)
capture_comp=$(stat -c %s "$OUT/capture.img")
while read -r f; do printf '%10d %s\n' "$(stat -c %s "$ROOT$f")" "$f"; done < "$MANIFEST" > "$OUT/agent-files.txt"
cat > "$OUT/footprint.json" << EOF
{"compressor": "$COMP", "imageUnpackedBytes": $total_bytes, "imageCompressedBytes": $capture_comp,
 "baseUnpackedBytes": $base_bytes, "agentUnpackedBytes": $agent_bytes, "agentCompressedBytes": $agent_comp,
 "agentGzip6Bytes": $agent_gz, "nodeSquashfsBytes": $node_sq, "agentFiles": $(wc -l < "$MANIFEST")}
EOF

# --- the first kernel's image: the same root + kexec, the capture kernel and its initramfs
EXTRA=$STAGE/extra
mkdir -p "$EXTRA/boot"
ROOT_SAVE=$ROOT
ROOT=$EXTRA
copy_with_libs /sbin/kexec
ROOT=$ROOT_SAVE
cp "$KDIR/boot/vmlinuz-$KVER" "$EXTRA/boot/vmlinuz"
cp "$OUT/capture.img" "$EXTRA/boot/capture.img"
# Concatenated archives: the kernel unpacks both, the second on top of the first.
{ cat "$OUT/capture.img"; cpio_of "$EXTRA" | $COMP -c; } > "$OUT/first.img"
cat "$OUT/footprint.json"
