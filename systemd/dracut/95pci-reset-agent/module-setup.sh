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
# loop-mounts, so the unpacked initramfs grows by ~30 MB instead of ~105 MB and crashkernel=256M suffices.
# Without mksquashfs (or when it fails) the image build FAILS: a plain node silently loses the dump at
# crashkernel=256M. PCI_RESET_AGENT_SQUASH=no (always plain) or =fallback (plain only when squashfs cannot
# be built) accept that, with a warning naming the crashkernel= the capture kernel then needs.
#
# Host settings (environment of mkdumprd/dracut):
#   PCI_RESET_AGENT_LIBDIR   where the bundle is installed (default /usr/lib/pci-reset-agent)
#   PCI_RESET_AGENT_ETCDIR   the admin's kdump.conf and quirks.d/ (default /etc/pci-reset-agent)
#   PCI_RESET_AGENT_NODE     node binary to ship (default: node on PATH)
#   PCI_RESET_AGENT_SQUASH   yes|fallback|no (default yes)
#   PCI_RESET_AGENT_SQUASH_COMP   mksquashfs compressor arguments (default "zstd -Xcompression-level 19")
#
# dracut provides: $initdir $moddir $systemdsystemunitdir $DRACUT_TMPDIR and the inst_* helpers.
# shellcheck disable=SC2154 # variables set by dracut

# Where the agent lives in the image (the runner's PRA_LIB), and where install() takes it from on the host.
PRA_IMAGE_LIBDIR=/usr/lib/pci-reset-agent
# Smallest crashkernel= that completed the whole e2e capture run with node as a plain file in the image
# (256M failed: "Initramfs unpacking failed: write error"). The same figure as src/footprint/measured.ts and
# docs/kdump.md; test/packaging checks they agree.
PRA_PLAIN_NODE_CRASHKERNEL=320M
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
    # install() could not put node in the image (it said why): fail the whole build rather than ship a
    # kdump image whose agent cannot run or whose unpacked size loses the dump.
    if [[ -n ${_pra_install_failed-} ]]; then
        derror "pci-reset-agent: failing the image build (see the error above)"
        return 1
    fi
    # For the loop-mounted node image; both are modules in distribution kernels.
    instmods loop squashfs
}

# node and its libraries. glibc's own libraries stay plain files in the image (the loader must match
# them, and the rest of the image uses them too); everything else node links goes into the squashfs.
# Returns 1 (and says why) when node cannot go in as configured; install() then fails the build.
pra_install_node() {
    local node stage lib comp squash why
    node=$(pra_node)
    squash=${PCI_RESET_AGENT_SQUASH:-yes}
    case $squash in
        yes | fallback) ;;
        no)
            dwarn "pci-reset-agent: node installed uncompressed (PCI_RESET_AGENT_SQUASH=no): the capture kernel needs crashkernel=$PRA_PLAIN_NODE_CRASHKERNEL or more"
            inst_binary "$node" /usr/bin/node
            return
            ;;
        *)
            derror "pci-reset-agent: PCI_RESET_AGENT_SQUASH=$squash: expected yes, fallback or no"
            return 1
            ;;
    esac
    if command -v mksquashfs > /dev/null 2>&1; then
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
        # zstd, not xz: the capture kernel decompresses node 3-4x faster for 15% more image (bench/squashfs.ts,
        # docs/benchmarks.md); level 19 is the image whose crashkernel= docs/kdump.md measured (176M). Every kernel
        # node 20 runs on can read zstd squashfs (CONFIG_SQUASHFS_ZSTD, Linux 4.14).
        comp=${PCI_RESET_AGENT_SQUASH_COMP:-zstd -Xcompression-level 19}
        # shellcheck disable=SC2086 # compressor arguments are a list
        if mksquashfs "$stage" "$DRACUT_TMPDIR/node.squashfs" -noappend -quiet -all-root -comp $comp > /dev/null; then
            inst_simple "$DRACUT_TMPDIR/node.squashfs" "$PRA_IMAGE_LIBDIR/node.squashfs"
            rm -rf "$stage" "$DRACUT_TMPDIR/node.squashfs"
            inst_multiple -o mount umount
            return 0
        fi
        rm -rf "$stage"
        why="mksquashfs failed (compressor: $comp)"
    else
        why="mksquashfs not found (install squashfs-tools)"
    fi
    if [[ $squash == fallback ]]; then
        dwarn "pci-reset-agent: $why; PCI_RESET_AGENT_SQUASH=fallback: node installed UNCOMPRESSED, the capture kernel now needs crashkernel=$PRA_PLAIN_NODE_CRASHKERNEL or more"
        inst_binary "$node" /usr/bin/node
        return
    fi
    derror "pci-reset-agent: $why. Node uncompressed would need crashkernel=$PRA_PLAIN_NODE_CRASHKERNEL or more; set PCI_RESET_AGENT_SQUASH=fallback to accept that, or =no"
    return 1
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
    # dracut ignores install()'s status but stops the build when installkernel() fails; installkernel()
    # runs right after install() in the same shell (dracut.sh, "source our modules"), so it reports this.
    pra_install_node || { _pra_install_failed=node; return 1; }

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
