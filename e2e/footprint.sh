#!/bin/bash
# Footprint measurement for the README (not part of CI: one crash-and-capture cycle per size, ~45 s each).
#   e2e/footprint.sh [SIZE...]     default: 256M 224M 192M 176M 160M 144M 128M
#   PRA_E2E_IMAGES=DIR             other images (e.g. built with PCI_RESET_AGENT_SQUASH=no)
# Runs the kdump scenario at each crashkernel= size, largest first, and prints a table: whether the whole
# capture run passed every e2e check, the capture kernel's MemTotal, the runner's wall time and the agent's
# own duration. Needs the images from a previous `npm run test:e2e` (.e2e/images, .e2e/kernel-*).
set -euo pipefail
cd "$(dirname "$0")/.."
E2E=${PRA_E2E_DIR:-$PWD/.e2e}
KDIR=$(find "$E2E" -maxdepth 1 -name "kernel-*" -type d | sort | tail -n 1)
KVER=${KDIR##*/kernel-}
IMAGES=${PRA_E2E_IMAGES:-$E2E/images}
[[ -f $IMAGES/first.img ]] || { echo "footprint: run npm run test:e2e first (no $IMAGES)" >&2; exit 1; }
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(256M 224M 192M 176M 160M 144M 128M)
echo "image: $(tr -d '\n' < "$IMAGES/footprint.json")"
printf '%-12s %-6s %-14s %-10s %-12s %s\n' crashkernel result MemTotal_kB runner_s agent_ms first_failure
for s in "${sizes[@]}"; do
    out=$E2E/footprint/$s
    rm -rf "$out"
    log=$(node e2e/driver.mjs --kernel "$KDIR/boot/vmlinuz-$KVER" --images "$IMAGES" --out "$out" \
        --scenarios kdump --crashkernel "$s" 2>&1 || true)
    sum=$out/kdump/summary.json
    res=$(grep -q ' 0 failed$' <<< "$log" && echo pass || echo FAIL)
    node -e '
        const fs = require("fs");
        const s = fs.existsSync(process.argv[1]) ? JSON.parse(fs.readFileSync(process.argv[1], "utf8")) : {};
        let f = process.argv[3].split("\n").find((l) => l.startsWith("not ok")) || "";
        const con = process.argv[5] + "/kdump/console.log";
        const why = fs.existsSync(con) ? fs.readFileSync(con, "utf8").split("\n").find((l) => /Initramfs unpacking failed|Out of memory|Kernel panic - not syncing: (?!sysrq)/.test(l)) : null;
        if (why) f = why.replace(/^\[[^\]]*\]\s*/, "");
        console.log([process.argv[2].padEnd(12), process.argv[4].padEnd(6), String(s.captureMemTotalKb ?? "-").padEnd(14),
          String(s.runnerWallS ?? "-").padEnd(10), String(s.agentDurationMs ?? "-").padEnd(12), f.slice(0, 100)].join(" "));
    ' "$sum" "$s" "$log" "$res" "$out"
done
