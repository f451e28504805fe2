#!/bin/bash
# Download (never install) the bookworm arm64 packages the arm64 SMMUv3 guest is built from, with apt's own
# client and a private arm64 configuration under $E2E/apt-arm64 (the host's apt state is not touched).
# Env: E2E (cache dir), SERIES (6.1, the default: the kernel linux-image-arm64 points to; 6.12: the newest
#      linux-image-6.12.*-arm64-unsigned the same sources carry). Out: $E2E/debs-arm64/*.deb for 6.1,
#      $E2E/debs-arm64-6.12/*.deb for 6.12 (build-image.sh unpacks every .deb of one directory).
set -euo pipefail
: "${E2E:?}"
A=$E2E/apt-arm64
SERIES=${SERIES:-6.1}
OUT=$E2E/debs-arm64
[ "$SERIES" = 6.1 ] || OUT=$E2E/debs-arm64-$SERIES
mkdir -p "$A/etc" "$A/lists/partial" "$A/cache/archives/partial" "$OUT"
touch "$A/status"
# The host's own Debian mirror (deb822 "URIs:" or one-line sources), deb.debian.org when none is found.
mirror=$({ grep -rhoE '^URIs: *https?://[^ ]+/debian/?$' /etc/apt/sources.list.d/ 2> /dev/null | sed 's/^URIs: *//'
    grep -rhoE '^deb +(\[[^]]*\] +)?https?://[^ ]+/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/ 2> /dev/null | awk '{ print $NF }'; } | head -n 1 || :)
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
cat > "$A/etc/sources.list" <<SRC
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror-security bookworm-security main
SRC
opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$A/lists" -o Dir::State::status="$A/status"
    -o Dir::Cache="$A/cache" -o Dir::Etc::SourceList="$A/etc/sources.list" -o Dir::Etc::SourceParts=/nonexistent)
compgen -G "$A/lists/*_Packages*" > /dev/null || apt-get "${opts[@]}" update -qq
# The 6.1 kernel linux-image-arm64 points to; busybox-static; kexec-tools and the libraries its binaries
# need (kexec links libxenctrl on arm64), all resolved by e2e/arm64/build-image.sh from ELF NEEDED.
case $SERIES in
    6.1) kpkg=$(apt-cache "${opts[@]}" depends linux-image-arm64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }') ;;
    6.12) kpkg=$(apt-cache "${opts[@]}" search --names-only '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-arm64-unsigned$' | awk '{ print $1 }' | sort -V | tail -n 1) ;;
    *) echo "fetch-debs: unknown kernel series $SERIES (6.1, 6.12)" >&2; exit 2 ;;
esac
[ -n "$kpkg" ] || { echo "fetch-debs: no arm64 $SERIES kernel package in the sources" >&2; exit 1; }
pkgs=("$kpkg" busybox-static kexec-tools libc6 zlib1g liblzma5 libxenmisc4.17 libxencall1 libxendevicemodel1 libxenevtchn1
    libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenstore4 libxentoollog1 libxentoolcore1 libyajl2 libfdt1 libuuid1
    libext2fs2 libcom-err2)
missing=()
# A newer kernel in the sources replaces the one downloaded before (build-image.sh takes the first it finds).
compgen -G "$OUT/${kpkg}_*.deb" > /dev/null || rm -f "$OUT"/linux-image-*.deb
for p in "${pkgs[@]}"; do compgen -G "$OUT/${p}_*.deb" > /dev/null || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    (cd "$OUT" && apt-get "${opts[@]}" download "${missing[@]}" 2>&1) | grep -v unsandboxed || :
fi
echo "arm64 packages: $(find "$OUT" -name '*.deb' | wc -l) in $OUT"
