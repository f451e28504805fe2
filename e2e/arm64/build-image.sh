#!/bin/bash
# The arm64 SMMUv3 kdump guest image (issue 13): busybox-static, kexec-tools (kexec, vmcore-dmesg) with the
# shared libraries their ELF NEEDED entries pull in, the e1000e and nvme modules, and e2e/arm64/init. Every
# binary is Debian bookworm's arm64 build, unpacked from the .deb (never installed). The same image is the
# first kernel's initramfs and, copied into it as /boot/capture.img, the capture kernel's.
# Env: DEBS (dir of arm64 .debs: linux-image-*-arm64, busybox-static, kexec-tools, libc6, zlib1g and the
#      libraries kexec needs), WORK (scratch + output dir). Out: $WORK/initrd.img, $WORK/Image
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
: "${DEBS:?}" "${WORK:?}"
X=$WORK/unpacked
mkdir -p "$X"
for d in "$DEBS"/*.deb; do dpkg-deb -x "$d" "$X"; done
KVER=$(find "$X/lib/modules" -mindepth 1 -maxdepth 1 -printf "%f\n" | head -n 1)
[ -f "$X/lib/modules/$KVER/modules.dep" ] || depmod -b "$X" "$KVER"
ROOT=$(mktemp -d "$WORK/root.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,proc,sys,dev,tmp,run,boot,out,lib/aarch64-linux-gnu}
cp "$X/bin/busybox" "$ROOT/bin/busybox"
# busybox-static of the same Debian version: the host's applet list is the guest's.
for a in $(/bin/busybox --list); do [ -e "$ROOT/bin/$a" ] || ln -s busybox "$ROOT/bin/$a"; done
cp "$X/sbin/kexec" "$X/sbin/vmcore-dmesg" "$ROOT/sbin/"
# The NEEDED closure of kexec and vmcore-dmesg, found in the unpacked libraries.
need=$(readelf -d "$ROOT/sbin/kexec" "$ROOT/sbin/vmcore-dmesg" | awk -F'[][]' '/NEEDED/ { print $2 }' | sort -u)
done_libs=""
while [ -n "$need" ]; do
    next=""
    for lib in $need; do
        case " $done_libs " in *" $lib "*) continue ;; esac
        done_libs="$done_libs $lib"
        f=$(find "$X/lib" "$X/usr/lib" -name "$lib" \( -type f -o -type l \) 2> /dev/null | head -n 1)
        [ -n "$f" ] || { echo "missing library $lib" >&2; exit 1; }
        cp -L "$f" "$ROOT/lib/aarch64-linux-gnu/$lib"
        next="$next $(readelf -d "$ROOT/lib/aarch64-linux-gnu/$lib" | awk -F'[][]' '/NEEDED/ { print $2 }')"
    done
    need=$next
done
ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$ROOT/lib/ld-linux-aarch64.so.1"
for m in e1000e nvme; do
    modprobe -d "$X" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | while read -r ko; do
    rel=${ko#"$X"}
    install -D -m 0644 "$ko" "$ROOT$rel"
done
cp "$X/lib/modules/$KVER"/modules.{dep,alias,symbols,builtin,order} "$ROOT/lib/modules/$KVER/" 2> /dev/null || :
depmod -b "$ROOT" "$KVER"
install -m 0755 "$HERE/init" "$ROOT/init"
cp "$X/boot/vmlinuz-$KVER" "$WORK/Image"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/capture.img"
cp "$WORK/capture.img" "$ROOT/boot/capture.img"
cp "$WORK/Image" "$ROOT/boot/Image"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.img"
ls -l "$WORK/Image" "$WORK/capture.img" "$WORK/initrd.img"
