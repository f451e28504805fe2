#!/bin/bash
# The few dracut helpers a module's installkernel()/install() call, implemented over a staging directory,
# so the e2e image is filled by OUR shipped module-setup.sh exactly as mkdumprd would fill a kdump image
# (dracut itself needs udev and a newer systemd than a CI host should get). Semantics follow dracut-ng's
# dracut-init.sh: paths keep their host location unless a destination is given; binaries bring their
# libraries (ldd); modules bring their dependencies (modprobe --show-depends).
#
# Use: source this file with initdir, moddir, KDIR (unpacked kernel package), KVER set; then
#   pra_shim_module   runs check/installkernel/install of $moddir/module-setup.sh.
# Every file installed is appended to $PRA_SHIM_MANIFEST (image paths), for the footprint measurement.
set -euo pipefail
: "${initdir:?}" "${moddir:?}" "${KDIR:?}" "${KVER:?}"
: "${PRA_SHIM_MANIFEST:=$initdir.manifest}"
: "${PRA_SHIM_CACHE:=}"
export systemdsystemunitdir=/usr/lib/systemd/system
DRACUT_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/pra-dracut.XXXXXX")
export DRACUT_TMPDIR
PRA_SHIM_SYSTEMD=${PRA_SHIM_SYSTEMD:-no}

derror() { echo "dracut-shim ERROR: $*" >&2; }
dwarn() { echo "dracut-shim warning: $*" >&2; }
dinfo() { echo "dracut-shim: $*" >&2; }

_shim_put() { # $1 host source, $2 image path, $3 mode (optional)
    local dst="$initdir$2"
    [[ -e $dst ]] && return 0
    command install -D -m "${3:-0644}" "$(readlink -f "$1")" "$dst"
    echo "$2" >> "$PRA_SHIM_MANIFEST"
}

_shim_libs() { # libraries of a binary, as host paths
    ldd "$1" 2> /dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

inst_simple() { # SRC [DST]
    local mode=0644
    [[ -x $1 ]] && mode=0755
    _shim_put "$1" "${2:-$1}" "$mode"
}
inst_library() { inst_simple "$@"; }
inst_script() { _shim_put "$1" "${2:-$1}" 0755; }

inst_binary() { # SRC [DST]: binary and its libraries
    local src=$1 lib
    [[ $src == /* ]] || src=$(command -v "$src")
    _shim_put "$src" "${2:-$src}" 0755
    while read -r lib; do _shim_put "$lib" "$lib" 0755; done < <(_shim_libs "$src")
}

inst_multiple() { # [-o] NAME...: binaries found on PATH (busybox applets already in the image count)
    local optional=no name path
    if [[ ${1-} == -o ]]; then optional=yes; shift; fi
    for name in "$@"; do
        if [[ $name != /* && -e $initdir/bin/$name ]]; then continue; fi
        path=$name
        [[ $path == /* ]] || path=$(command -v "$name" 2> /dev/null || true)
        if [[ -z $path || ! -e $path ]]; then
            [[ $optional == yes ]] && continue
            derror "inst_multiple: $name not found"
            return 1
        fi
        inst_binary "$path"
    done
}

inst_hook() { # HOOKDIR PRIO SRC
    _shim_put "$3" "/lib/dracut/hooks/$1/$2-${3##*/}" 0755
}

instmods() { # MODULE...: with dependencies, from the unpacked kernel package
    local m ko
    for m in "$@"; do
        while read -r ko; do
            _shim_put "$ko" "${ko#"$KDIR"}" 0644
        done < <(modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }')
    done
}

dracut_module_included() {
    [[ $1 == systemd && $PRA_SHIM_SYSTEMD == yes ]]
}

# mksquashfs is slow (node: ~17 s with xz on 2 cores): reuse an earlier image built from identical input.
if [[ -n $PRA_SHIM_CACHE ]]; then
    mksquashfs() {
        local src=$1 out=$2 key
        shift 2
        key=$( (cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$*") | sha256sum | cut -c1-16)
        mkdir -p "$PRA_SHIM_CACHE"
        if [[ ! -f $PRA_SHIM_CACHE/$key.squashfs ]]; then
            command mksquashfs "$src" "$PRA_SHIM_CACHE/$key.squashfs.tmp" "$@" && mv "$PRA_SHIM_CACHE/$key.squashfs.tmp" "$PRA_SHIM_CACHE/$key.squashfs"
        fi
        cp "$PRA_SHIM_CACHE/$key.squashfs" "$out"
    }
fi

pra_shim_module() {
    local rc=0
    # shellcheck source=/dev/null
    . "$moddir/module-setup.sh"
    check || rc=$?
    if [[ $rc -ne 0 ]]; then
        derror "module-setup.sh check() returned $rc"
        return 1
    fi
    # dracut 059's order (dracut.sh, "source our modules"): install(), whose status dracut ignores, then
    # installkernel(), whose failure stops the build.
    install || :
    installkernel || { derror "installkernel failed in module $moddir"; rm -rf "$DRACUT_TMPDIR"; return 1; }
    rm -rf "$DRACUT_TMPDIR"
}
