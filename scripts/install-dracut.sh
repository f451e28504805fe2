#!/bin/sh
# npm run install-dracut: install the bundle, the dracut module and a launcher (DESTDIR-aware, for packagers).
#   $DESTDIR/usr/lib/pci-reset-agent/                    pci-reset-agent.mjs, koffi.node, default quirk table
#   $DESTDIR/usr/lib/dracut/modules.d/95pci-reset-agent/ module-setup.sh, the runner, the pre-udev hook, the unit
#   $DESTDIR/usr/sbin/pci-reset-agent                    launcher for live use (plan, iommu, quirks lint)
#   $DESTDIR/etc/pci-reset-agent/quirks.d/               where admins drop their quirk tables
# Env: DESTDIR (default empty), PREFIX (default /usr), BUNDLE (default dist/bundle, built by `npm run build:bundle`),
#      DRACUTMODDIR (default: where dracut reads modules, `pkg-config --variable=dracutmodulesdir dracut` or
#      /usr/lib/dracut/modules.d, WHATEVER the PREFIX: dracut never looks under /usr/local, so PREFIX=/usr/local
#      puts the agent in /usr/local/lib/pci-reset-agent and still the module where dracut finds it).
# The kdump image picks the module up at its next rebuild (kdumpctl rebuild / mkdumprd), see README.
set -eu
cd "$(dirname "$0")/.."
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
LIBDIR=$PREFIX/lib/pci-reset-agent
# dracut reads modules from one directory only (dracutbasedir/modules.d, fixed when dracut is built).
DRACUT_READS=$(pkg-config --variable=dracutmodulesdir dracut 2> /dev/null || :)
DRACUT_READS=${DRACUT_READS:-/usr/lib/dracut/modules.d}
DRACUTMODDIR=${DRACUTMODDIR:-$DRACUT_READS}
case "$DRACUTMODDIR" in
    "$DRACUT_READS" | /usr/lib/dracut/modules.d | /lib/dracut/modules.d) ;;
    *) echo "install-dracut: WARNING: DRACUTMODDIR=$DRACUTMODDIR is not where dracut reads modules ($DRACUT_READS): kdump images will not include the agent unless your dracut was built with that directory" >&2 ;;
esac
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
# koffi.node without debug symbols: 1.25 MB instead of 1.62 MB in every kdump image (the .deb strips it the same way).
if [ -f "$DESTDIR$LIBDIR/koffi.node" ] && command -v strip > /dev/null 2>&1; then
    # (a file strip cannot read is installed as it is)
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$DESTDIR$LIBDIR/koffi.node" 2> /dev/null || :
fi
install -m 0755 "$MOD/module-setup.sh" "$MOD/pci-reset-agent-kdump.sh" "$MOD/pci-reset-agent-pre-udev.sh" \
    "$DESTDIR$DRACUTMODDIR/95pci-reset-agent/"
install -m 0644 systemd/pci-reset-agent.service "$DESTDIR$DRACUTMODDIR/95pci-reset-agent/"
# The module defaults to /usr/lib/pci-reset-agent; point it elsewhere when PREFIX differs.
if [ "$LIBDIR" != /usr/lib/pci-reset-agent ]; then
    sed -i "s|^PRA_IMAGE_LIBDIR=.*|&\\n: \"\${PCI_RESET_AGENT_LIBDIR:=$LIBDIR}\"|" "$DESTDIR$DRACUTMODDIR/95pci-reset-agent/module-setup.sh"
fi
# The launcher runs node with the options the bundle's own shebang gives it (`#!/usr/bin/env -S node
# --max-semi-space-size=1`: 75 MB instead of 104 MB peak RSS on a 5,000-function scan), read from the
# bundle so the two cannot differ.
NODE_OPTS=$(sed -n '1s|^#![^ ]*env -S node *||p' "$BUNDLE/pci-reset-agent.mjs")
cat > "$DESTDIR$PREFIX/sbin/pci-reset-agent" << EOF
#!/bin/sh
# pci-reset-agent launcher (scripts/install-dracut.sh): the node options are the bundle's shebang's.
exec node${NODE_OPTS:+ $NODE_OPTS} "$LIBDIR/pci-reset-agent.mjs" "\$@"
EOF
chmod 0755 "$DESTDIR$PREFIX/sbin/pci-reset-agent"
echo "installed into ${DESTDIR:-/}: $LIBDIR, $DRACUTMODDIR/95pci-reset-agent, $PREFIX/sbin/pci-reset-agent"
