#!/bin/bash
# npm run package:deb: build pci-reset-agent_<version>_amd64.deb with dpkg-deb alone (no debhelper).
#   dist/deb/pci-reset-agent_<version>_amd64.deb
# Contents (docs/kdump.md, "What ships", has the table): the bundle and koffi.node, the /usr/sbin launcher, the dracut
# module (with the kdump unit), the initramfs-tools hook and init-top script, /etc/pci-reset-agent/kdump.conf
# (a commented conffile) and quirks.d/, the man page and bash completion generated from the CLI's own
# commander definitions, /usr/share/doc/pci-reset-agent/{copyright,changelog.gz}.
# Env: OUT (default dist/deb), DEB_MAINTAINER (default "pci-reset-agent maintainers <pci-reset-agent@users.noreply.github.com>"),
#      SOURCE_DATE_EPOCH (default: the last commit's time; the package is reproducible from a commit).
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=$PWD
OUT=${OUT:-$PROJECT/dist/deb}
VERSION=$(node -p "require('./package.json').version")
HOMEPAGE=$(node -p "require('./package.json').homepage || 'https://github.com/pci-reset-agent/pci-reset-agent'")
MAINTAINER=${DEB_MAINTAINER:-pci-reset-agent maintainers <pci-reset-agent@users.noreply.github.com>}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2> /dev/null || date +%s)}
export SOURCE_DATE_EPOCH
DEB=$OUT/pci-reset-agent_${VERSION}_amd64.deb

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pra-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

# 1. The bundle (and which npm packages it carries), the man page and completion from the compiled CLI.
node scripts/build-bundle.mjs --quiet --outdir "$WORK/bundle" --packages "$WORK/packages.json"
npx tsc -p tsconfig.json
node dist/src/cli/reference/write-reference.js "$WORK/ref" > /dev/null

# 2. The agent, the launcher and the dracut module, as `npm run install-dracut` installs them.
DESTDIR=$ROOT PREFIX=/usr BUNDLE=$WORK/bundle sh scripts/install-dracut.sh > /dev/null
# The bundle's shebang (`/usr/bin/env -S node --max-semi-space-size=1`) is unknown to lintian: say why.
install -D -m 0644 packaging/lintian-overrides "$ROOT/usr/share/lintian/overrides/pci-reset-agent"
# koffi.node: debug symbols out (policy 10.1); what it links decides the shared-library dependencies.
KOFFI=$ROOT/usr/lib/pci-reset-agent/koffi.node
SHLIBS=
if [ -f "$KOFFI" ]; then
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$KOFFI"
    # The newest glibc symbol version it needs (dpkg-shlibdeps would say the same for libc6); libstdc++ and
    # libgcc_s versions as of GLIBCXX_3.4.22 (GCC 6), koffi's newest.
    glibc=$(objdump -T "$KOFFI" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
    SHLIBS="libc6 (>= $glibc), libgcc-s1 (>= 3.0), libstdc++6 (>= 6)"
fi
rmdir "$ROOT/etc/pci-reset-agent/quirks.d" 2> /dev/null || :

# 3. initramfs-tools (kdump-tools' image).
install -D -m 0755 systemd/initramfs-tools/hooks/pci-reset-agent "$ROOT/usr/share/initramfs-tools/hooks/pci-reset-agent"
install -D -m 0755 systemd/initramfs-tools/scripts/init-top/pci-reset-agent "$ROOT/usr/share/initramfs-tools/scripts/init-top/pci-reset-agent"

# 4. Settings (conffile), the admin's table directory, reference and documentation.
install -D -m 0644 packaging/kdump.conf "$ROOT/etc/pci-reset-agent/kdump.conf"
install -d -m 0755 "$ROOT/etc/pci-reset-agent/quirks.d"
install -D -m 0644 packaging/quirks.d-README "$ROOT/etc/pci-reset-agent/quirks.d/README"
install -d "$ROOT/usr/share/man/man8" "$ROOT/usr/share/bash-completion/completions" "$ROOT/usr/share/doc/pci-reset-agent"
gzip -9n < "$WORK/ref/pci-reset-agent.8" > "$ROOT/usr/share/man/man8/pci-reset-agent.8.gz"
install -m 0644 "$WORK/ref/pci-reset-agent.bash-completion" "$ROOT/usr/share/bash-completion/completions/pci-reset-agent"
node packaging/copyright.mjs "$WORK/packages.json" "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)" > "$ROOT/usr/share/doc/pci-reset-agent/copyright"
DATE=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
sed -e "s|@VERSION@|$VERSION|g" -e "s|@MAINTAINER@|$MAINTAINER|g" -e "s|@DATE@|$DATE|g" packaging/debian/changelog |
    gzip -9n > "$ROOT/usr/share/doc/pci-reset-agent/changelog.gz"

# 4b. The audit units (the `audit` command's), when the source tree has them; installed, not enabled.
for f in systemd/pci-reset-agent-audit.service systemd/pci-reset-agent-audit.timer systemd/pci-reset-agent-audit.path; do
    [ -f "$f" ] && install -D -m 0644 "$f" "$ROOT/usr/lib/systemd/system/${f##*/}"
done

# 5. Control files.
install -d "$ROOT/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/postrm "$ROOT/DEBIAN/"
(cd "$ROOT" && find etc -type f | sed 's|^|/|' | sort) > "$ROOT/DEBIAN/conffiles"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s|@VERSION@|$VERSION|g" -e "s|@MAINTAINER@|$MAINTAINER|g" -e "s|@INSTALLED_SIZE@|$SIZE|g" -e "s|@HOMEPAGE@|$HOMEPAGE|g" -e "s|@SHLIBS@|$SHLIBS|g" \
    packaging/debian/control.in > "$ROOT/DEBIAN/control"
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum) > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles" "$ROOT/DEBIAN/md5sums"
# Directories 0755, files keep their modes; times from SOURCE_DATE_EPOCH (reproducible).
find "$ROOT" -type d -exec chmod 0755 {} +
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$OUT"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" > /dev/null
echo "$DEB ($(stat -c %s "$DEB") bytes, installed size ${SIZE} KiB)"
