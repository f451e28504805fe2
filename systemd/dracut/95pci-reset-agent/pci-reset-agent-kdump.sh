#!/bin/sh
# pci-reset-agent-kdump: the one entry point a kdump initramfs uses to run the agent, called both by
# pci-reset-agent.service (systemd images) and by the dracut pre-udev hook (non-systemd images), so both
# run the agent the same way. Installed as /usr/libexec/pci-reset-agent/pci-reset-agent-kdump.
#
#   pci-reset-agent-kdump              run `apply` once, in a capture kernel only (what the unit and hook do)
#   pci-reset-agent-kdump run ARGS...  run any agent command with the same node (debug shell: `run plan`)
#   pci-reset-agent-kdump mount        mount the node image and leave it mounted (later calls reuse it;
#                                      `umount -d /run/pci-reset-agent/node` when done)
#
# Contract with the dump: this script ALWAYS exits 0 in the default mode. The agent's own exit status, its
# run time and the tail of its output on failure go to the kernel log (/dev/kmsg, prefix
# "pci-reset-agent:"), the full output to /run/pci-reset-agent/kdump.log, the report to
# /run/pci-reset-agent/report.json (written by the agent). A hard timeout (PRA_TIMEOUT seconds, SIGKILL)
# bounds it even if node hangs.
#
# Settings: /etc/pci-reset-agent/kdump.conf (shell assignments, optional):
#   PRA_ENABLE=no            do nothing (also: rd.pci_reset_agent=0 on the kernel command line)
#   PRA_ARGS="..."           extra arguments for `apply` (e.g. "--deadline 20000 --exclude 0000:03:00.0")
#   PRA_TIMEOUT=90           seconds before the agent is killed
#   PRA_NODE_OPTIONS="..."   options for node (default keeps the heap small for crashkernel=256M)
# Node comes from $PRA_LIB/node.squashfs when present (loop-mounted read-only: node stays compressed in
# the initramfs, so crashkernel=256M suffices), else from `node` on PATH.
# Written for POSIX sh: dracut sources hooks with its own shell, and busybox sh must do.

PRA_LIB=${PRA_LIB:-/usr/lib/pci-reset-agent}
PRA_RUN=${PRA_RUN:-/run/pci-reset-agent}
PRA_CONF=${PRA_CONF:-/etc/pci-reset-agent/kdump.conf}
PRA_KMSG=${PRA_KMSG:-/dev/kmsg}
PRA_ENABLE=yes
PRA_ARGS=
PRA_TIMEOUT=90
# The same flag as the bundle's shebang (src/cli/bin.ts): 1 MB young-generation semi-spaces keep the RSS
# small (a 5,000-function scan peaks near 75 MB instead of 110 MB) in a crashkernel=256M capture kernel.
PRA_NODE_OPTIONS="--max-semi-space-size=1"
# shellcheck source=/dev/null
[ -r "$PRA_CONF" ] && . "$PRA_CONF"

pra_uptime() { read -r up _ < /proc/uptime 2>/dev/null && echo "$up"; }

# Text made safe for the kernel log and a console: every control character (newline, carriage return,
# ESC, DEL, ...) becomes "?". devkmsg_write() (kernel/printk/printk.c) reads a leading "<N>" of each
# write as its priority and keeps the rest, newlines included, as one record that dmesg and the console
# show as several lines: an agent output line holding "\n<0>KERNEL PANIC" or a terminal escape must
# reach the log as inert text. printf '%s', never echo: dash's echo turns a "\n" in its argument into
# a newline.
# With tr, byte-wise: C0, DEL and the bytes of the C1 range (0x80-0x9f: a lone 0x9b is CSI to a
# console). Without tr (a minimal image), one character at a time: anything the shell's C locale does not
# call printable (so every non-ASCII byte too: safe rather than pretty).
pra_clean() (
    if command -v tr >/dev/null 2>&1; then
        printf '%s' "$*" | LC_ALL=C tr '\000-\037\177-\237' '?'
        exit 0
    fi
    pra_rest=$*
    LC_ALL=C
    while [ -n "$pra_rest" ]; do
        pra_tail=${pra_rest#?}
        pra_char=${pra_rest%"$pra_tail"}
        case $pra_char in
            [![:print:]]) printf '?' ;;
            *) printf '%s' "$pra_char" ;;
        esac
        pra_rest=$pra_tail
    done
)

# One line into the kernel log (priority 5, notice), which reaches the console and the journal; on
# stderr only when there is no kernel log to write to.
pra_log() {
    pra_line=$(pra_clean "$*")
    if [ -w "$PRA_KMSG" ] && printf '<5>pci-reset-agent: %s\n' "$pra_line" >> "$PRA_KMSG" 2>/dev/null; then
        return 0
    fi
    printf 'pci-reset-agent: %s\n' "$pra_line" >&2
    return 0
}

PRA_MNT=
PRA_NODE=

# Mount the node image (or find node on PATH); sets PRA_NODE. Returns 1 when there is no node.
pra_node_up() {
    if [ -f "$PRA_LIB/node.squashfs" ]; then
        # Already mounted (a debug shell, or a harness running several commands): use it, leave it mounted.
        if [ -x "$PRA_RUN/node/bin/node" ]; then
            PRA_NODE=$PRA_RUN/node/bin/node
            LD_LIBRARY_PATH=$PRA_RUN/node/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
            export LD_LIBRARY_PATH
            return 0
        fi
        PRA_MNT=$PRA_RUN/node
        mkdir -p "$PRA_MNT"
        modprobe -q loop 2>/dev/null
        modprobe -q squashfs 2>/dev/null
        # `-o loop`: util-linux and busybox mount both set up (and on umount free) the loop device.
        if mount -t squashfs -o ro,loop "$PRA_LIB/node.squashfs" "$PRA_MNT" 2>/dev/null; then
            PRA_NODE=$PRA_MNT/bin/node
            LD_LIBRARY_PATH=$PRA_MNT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
            export LD_LIBRARY_PATH
            return 0
        fi
        PRA_MNT=
        pra_log "cannot mount $PRA_LIB/node.squashfs (loop/squashfs modules missing?); trying node on PATH"
    fi
    PRA_NODE=$(command -v node 2>/dev/null)
    [ -n "$PRA_NODE" ]
}

# Unmount the node image: its page cache is memory the dump tool wants back.
pra_node_down() {
    if [ -n "$PRA_MNT" ]; then
        umount -d "$PRA_MNT" 2>/dev/null || umount "$PRA_MNT" 2>/dev/null
    fi
    PRA_MNT=
}

pra_timeout() {
    if command -v timeout >/dev/null 2>&1; then
        timeout -s KILL "$PRA_TIMEOUT" "$@"
    else
        "$@"
    fi
}

pra_exec_agent() {
    # Writes to a function's sysfs `reset` block in the kernel for the whole reset; the agent's helper
    # process (which inherits this environment) makes them on libuv's thread pool so independent resets
    # overlap. Its default of 4 threads would serialise a machine with dozens of devices; the pool size
    # must be set before node starts.
    # PRA_EXEC_UPTIME: the moment the PRA_TIMEOUT kill timer starts. The agent's --deadline counts from
    # it (src/cli/exec-origin.ts), not from node's own clock, which starts only after node's cold start
    # from the squashfs (tens of seconds in an emulated capture kernel): the agent stops on its deadline
    # a whole PRA_TIMEOUT - deadline (60 s by default) before the kill.
    # shellcheck disable=SC2086 # PRA_NODE_OPTIONS is a list of options by design
    PRA_EXEC_UPTIME=$(pra_uptime) UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-32} pra_timeout "$PRA_NODE" $PRA_NODE_OPTIONS "$PRA_LIB/pci-reset-agent.mjs" "$@"
}

pra_main() {
    case " $(cat /proc/cmdline 2>/dev/null) " in
        *" rd.pci_reset_agent=0 "*) pra_log "disabled on the kernel command line (rd.pci_reset_agent=0)"; return 0 ;;
    esac
    case "$PRA_ENABLE" in
        no|0|false) pra_log "disabled in $PRA_CONF"; return 0 ;;
    esac
    if [ ! -e /proc/vmcore ]; then
        pra_log "not a capture kernel (no /proc/vmcore): nothing to do"
        return 0
    fi
    mkdir -p "$PRA_RUN" 2>/dev/null
    # The unit and the hook may both exist in a hand-made image: the agent runs once per boot.
    if [ -e "$PRA_RUN/kdump.done" ]; then
        return 0
    fi
    : > "$PRA_RUN/kdump.done"
    t0=$(pra_uptime)
    pra_log "start at uptime ${t0}s"
    if ! pra_node_up; then
        pra_log "no node found ($PRA_LIB/node.squashfs or PATH): devices NOT reset"
        return 0
    fi
    # The kernel rate-limits /dev/kmsg writers (printk.devkmsg=ratelimit: a burst of 10 lines per 5 s),
    # which drops most of the agent's per-step events from the capture kernel's log. Let them all through
    # while the agent runs, then put the setting back (a printk.devkmsg= on the command line locks it: the
    # write then fails and changes nothing).
    devkmsg=$(cat /proc/sys/kernel/printk_devkmsg 2>/dev/null)
    [ "$devkmsg" = ratelimit ] && echo on > /proc/sys/kernel/printk_devkmsg 2>/dev/null
    # shellcheck disable=SC2086 # PRA_ARGS is a list of arguments by design
    pra_exec_agent apply $PRA_ARGS > "$PRA_RUN/kdump.log" 2>&1
    rc=$?
    [ "$devkmsg" = ratelimit ] && echo ratelimit > /proc/sys/kernel/printk_devkmsg 2>/dev/null
    pra_node_down
    t1=$(pra_uptime)
    if [ "$rc" -eq 137 ]; then
        pra_log "killed after PRA_TIMEOUT=${PRA_TIMEOUT}s; report may be missing"
    elif [ "$rc" -ne 0 ]; then
        tail -n 5 "$PRA_RUN/kdump.log" 2>/dev/null | while IFS= read -r line; do pra_log "| $line"; done
    fi
    pra_log "finished status=$rc start=${t0}s end=${t1}s (log $PRA_RUN/kdump.log, report $PRA_RUN/report.json)"
    return 0
}

# Sourced with PRA_SOURCE_ONLY=1 (the tests): define the functions, run nothing.
if [ "${PRA_SOURCE_ONLY-}" = 1 ]; then
    :
elif [ "${1-}" = mount ]; then
    pra_node_up || { echo "pci-reset-agent-kdump: no node found" >&2; exit 1; }
    exit 0
elif [ "${1-}" = run ]; then
    shift
    pra_node_up || { echo "pci-reset-agent-kdump: no node found" >&2; exit 1; }
    pra_exec_agent "$@"
    rc=$?
    pra_node_down
    exit "$rc"
else
    pra_main
    exit 0
fi
