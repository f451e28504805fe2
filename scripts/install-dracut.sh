#!/bin/sh
# npm run install-dracut: install the bundle, the dracut module and a launcher (DESTDIR-aware, for packagers).
#   $DESTDIR/usr/lib/pci-reset-agent/                    pci-reset-agent.mjs, koffi.node, default quirk table
#   $DESTDIR/usr/lib/dracut/modules.d/95pci-reset-agent/ module-setup.sh, the runner, the pre-udev hook, the unit
#   $DESTDIR/usr/sbin/pci-reset-agent                    launcher for live use (plan, iommu, quirks lint)
#   $DESTDIR/etc/pci-reset-agent/quirks.d/               where admins drop their quirk tables
# Env: DESTDIR (default empty), PREFIX (default /usr), DRACUTMODDIR (default $PREFIX/lib/dracut/modules.d),
#      BUNDLE (default dist/bundle, built by `npm run build:bundle`).
# The kdump image picks the module up at its next rebuild (kdumpctl rebuild / mkdumprd), see README.
set -eu
cd "$(dirname "$0")/.."
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
LIBDIR=$PREFIX/lib/pci-reset-agent
DRACUTMODDIR=${DRACUTMODDIR:-$PREFIX/lib/dracut/modules.d}
BUNDLE=${BUNDLE:-dist/bundle}
MOD=systemd/dracut/95pci-reset-agent

[ -f "$BUNDLE/pci-reset-agent.mjs" ] || { echo "install-dracut: $BUNDLE/pci-reset-agent.mjs missing: run npm run build:bundle" >&2; exit 1; }

install -d "$DESTDIR$LIBDIR" "$DESTDIR$DRACUTMODDIR/95pci-reset-agent" "$DESTDIR$PREFIX/sbin" "$DESTDIR/etc/pci-reset-agent/quirks.d"
for f in "$BUNDLE"/*; do
    [ -f "$f" ] || continue
    case "$f" in
        *.mjs) install -m 0755 "$f" "$DESTDIR$LIBDIR/" ;;
        *) install -m 0644 "$f" "$DESTDIR$LIBDIR/" ;;
    esac
done
install -m 0755 "$MOD/module-setup.sh" "$MOD/pci-reset-agent-kdump.sh" "$MOD/pci-reset-agent-pre-udev.sh" \
    "$DESTDIR$DRACUTMODDIR/95pci-reset-agent/"
install -m 0644 systemd/pci-reset-agent.service "$DESTDIR$DRACUTMODDIR/95pci-reset-agent/"
# The module defaults to /usr/lib/pci-reset-agent; point it elsewhere when PREFIX differs.
if [ "$LIBDIR" != /usr/lib/pci-reset-agent ]; then
    sed -i "s|^PRA_IMAGE_LIBDIR=.*|&\\n: \"\${PCI_RESET_AGENT_LIBDIR:=$LIBDIR}\"|" "$DESTDIR$DRACUTMODDIR/95pci-reset-agent/module-setup.sh"
fi
cat > "$DESTDIR$PREFIX/sbin/pci-reset-agent" << EOF
#!/bin/sh
exec node "$LIBDIR/pci-reset-agent.mjs" "\$@"
EOF
chmod 0755 "$DESTDIR$PREFIX/sbin/pci-reset-agent"
echo "installed into ${DESTDIR:-/}: $LIBDIR, $DRACUTMODDIR/95pci-reset-agent, $PREFIX/sbin/pci-reset-agent"
