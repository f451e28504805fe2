#!/bin/bash
# dracut module: pci-reset-agent in kdump initramfs images.
# Installed as /usr/lib/dracut/modules.d/95pci-reset-agent/ by `npm run install-dracut`.
#
# What lands in the image:
#   /usr/lib/pci-reset-agent/      the single-file agent, koffi.node, the default quirk table (everything
#                                  in $PCI_RESET_AGENT_LIBDIR on the host), and node.squashfs (below)
#   /etc/pci-reset-agent/          the admin's quirks.d/ tables and kdump.conf, when present on the host
#   /usr/libexec/pci-reset-agent/pci-reset-agent-kdump   the runner the unit and the hook call
#   systemd images: pci-reset-agent.service, wanted by sysinit.target, ordered before udev's coldplug;
#   other images:   the pre-udev hook 40-pci-reset-agent.sh. Never both.
# node: by default node and its non-glibc libraries go into a compressed squashfs image that the runner
# loop-mounts, so the unpacked initramfs grows by ~30 MB instead of ~90 MB and crashkernel=256M suffices
# (PCI_RESET_AGENT_SQUASH=no, or no mksquashfs on the host: node is installed as a plain binary).
#
# Host settings (environment of mkdumprd/dracut):
#   PCI_RESET_AGENT_LIBDIR   where the bundle is installed (default /usr/lib/pci-reset-agent)
#   PCI_RESET_AGENT_ETCDIR   the admin's kdump.conf and quirks.d/ (default /etc/pci-reset-agent)
#   PCI_RESET_AGENT_NODE     node binary to ship (default: node on PATH)
#   PCI_RESET_AGENT_SQUASH   yes|no (default yes)
#   PCI_RESET_AGENT_SQUASH_COMP   mksquashfs compressor arguments (default "xz -Xbcj x86")
#
# dracut provides: $initdir $moddir $systemdsystemunitdir $DRACUT_TMPDIR and the inst_* helpers.
# shellcheck disable=SC2154 # variables set by dracut

# Where the agent lives in the image (the runner's PRA_LIB), and where install() takes it from on the host.
PRA_IMAGE_LIBDIR=/usr/lib/pci-reset-agent
pra_libdir() { echo "${PCI_RESET_AGENT_LIBDIR:-$PRA_IMAGE_LIBDIR}"; }
pra_node() { echo "${PCI_RESET_AGENT_NODE:-$(command -v node)}"; }

# The unit sits beside this file once installed; in the source tree it is two levels up.
pra_unit_file() {
    local f
    for f in "$moddir/pci-reset-agent.service" "$moddir/../../pci-reset-agent.service"; do
        [[ -f $f ]] && { echo "$f"; return 0; }
    done
    return 1
}

check() {
    local node
    # Only kdump images: kdump-utils' mkdumprd/kdumpctl set IN_KDUMP=1. Anywhere else the module is
    # included only when named explicitly (dracut --add pci-reset-agent), and is inert without /proc/vmcore.
    [[ -n ${IN_KDUMP-} ]] || return 255
    node=$(pra_node)
    if [[ ! -x $node ]]; then
        derror "pci-reset-agent: no node binary (set PCI_RESET_AGENT_NODE)"
        return 1
    fi
    if [[ ! -f "$(pra_libdir)/pci-reset-agent.mjs" ]]; then
        derror "pci-reset-agent: $(pra_libdir)/pci-reset-agent.mjs missing (npm run install-dracut)"
        return 1
    fi
    return 0
}

depends() {
    echo base
    return 0
}

installkernel() {
    # For the loop-mounted node image; both are modules in distribution kernels.
    instmods loop squashfs
}

# node and its libraries. glibc's own libraries stay plain files in the image (the loader must match
# them, and the rest of the image uses them too); everything else node links goes into the squashfs.
pra_install_node() {
    local node stage lib comp
    node=$(pra_node)
    if [[ ${PCI_RESET_AGENT_SQUASH:-yes} != no ]] && command -v mksquashfs > /dev/null 2>&1; then
        stage="$DRACUT_TMPDIR/pci-reset-agent-node"
        rm -rf "$stage"
        mkdir -p "$stage/bin" "$stage/lib"
        # Stripping drops debug info only; node keeps its dynamic symbols, which koffi.node links against.
        strip -o "$stage/bin/node" "$node" 2> /dev/null || cp -L "$node" "$stage/bin/node"
        chmod 0755 "$stage/bin/node"
        while read -r lib; do
            case "${lib##*/}" in
                ld-linux*|libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*) inst_simple "$lib" ;;
                *) cp -L "$lib" "$stage/lib/" ;;
            esac
        done < <(ldd "$node" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
        comp=${PCI_RESET_AGENT_SQUASH_COMP:-xz -Xbcj x86}
        # shellcheck disable=SC2086 # compressor arguments are a list
        if mksquashfs "$stage" "$DRACUT_TMPDIR/node.squashfs" -noappend -quiet -all-root -comp $comp > /dev/null; then
            inst_simple "$DRACUT_TMPDIR/node.squashfs" "$PRA_IMAGE_LIBDIR/node.squashfs"
            rm -rf "$stage" "$DRACUT_TMPDIR/node.squashfs"
            inst_multiple -o mount umount
            return 0
        fi
        rm -rf "$stage"
        dwarn "pci-reset-agent: mksquashfs failed; installing node uncompressed (needs crashkernel >= 384M)"
    fi
    inst_binary "$node" /usr/bin/node
}

install() {
    local libdir etcdir f unit
    libdir=$(pra_libdir)
    [[ -n ${IN_KDUMP-} ]] || dwarn "pci-reset-agent: not a kdump image (IN_KDUMP unset); the agent stays inert without /proc/vmcore"

    # The bundle, koffi.node and the default quirk table: whatever the installed agent directory holds.
    for f in "$libdir"/*; do
        [[ -f $f && ${f##*/} != node.squashfs ]] && inst_simple "$f" "$PRA_IMAGE_LIBDIR/${f##*/}"
    done
    # The admin's quirk tables and settings, always at /etc/pci-reset-agent in the image.
    etcdir=${PCI_RESET_AGENT_ETCDIR:-/etc/pci-reset-agent}
    if [[ -d $etcdir ]]; then
        for f in "$etcdir"/kdump.conf "$etcdir"/quirks.d/*; do
            [[ -f $f ]] && inst_simple "$f" "/etc/pci-reset-agent/${f#"$etcdir"/}"
        done
    fi
    pra_install_node

    inst_simple "$moddir/pci-reset-agent-kdump.sh" /usr/libexec/pci-reset-agent/pci-reset-agent-kdump
    chmod 0755 "$initdir/usr/libexec/pci-reset-agent/pci-reset-agent-kdump"
    # What the runner calls besides node (busybox or util-linux/coreutils, whichever the image has).
    inst_multiple -o timeout modprobe mkdir cat tail

    if dracut_module_included systemd; then
        unit=$(pra_unit_file) || { derror "pci-reset-agent: pci-reset-agent.service not found beside $moddir"; return 1; }
        inst_simple "$unit" "$systemdsystemunitdir/pci-reset-agent.service"
        mkdir -p "$initdir$systemdsystemunitdir/sysinit.target.wants"
        ln -sf ../pci-reset-agent.service "$initdir$systemdsystemunitdir/sysinit.target.wants/pci-reset-agent.service"
    else
        inst_hook pre-udev 40 "$moddir/pci-reset-agent-pre-udev.sh"
    fi
}
