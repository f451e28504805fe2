#!/bin/bash
# arm64 SMMUv3 kdump under QEMU TCG (issue 13): Debian's arm64 kernel (downloaded, never installed) boots on
# `-machine virt,iommu=smmuv3` with e1000e and nvme behind the SMMU, crashes with DMA in flight, and the
# capture kernel's shell step (e2e/arm64/init) writes its tree to the NVMe disk. This script reads the tree
# back and runs the agent on the host against it (`iommu --root`): the crash and the capture are real, only
# the agent runs on the host (no node for arm64 in the image).
# Env: PRA_E2E_DIR (cache; the arm64 .debs in $PRA_E2E_DIR/debs-arm64, or debs-arm64-6.12), SERIES (6.1, the
# default, or 6.12: which kernel fetch-debs.sh downloaded), FIXTURE (optional: save the evidence there as a
# test/fixtures/iommu directory). Run under `flock /tmp/pra-qemu.lock`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROJECT=$PWD
E2E=${PRA_E2E_DIR:-$PROJECT/.e2e}
SERIES=${SERIES:-6.1}
DEBS=$E2E/debs-arm64 W=$E2E/arm64/w RUN=$E2E/arm64/run
[[ $SERIES == 6.1 ]] || { DEBS=$E2E/debs-arm64-$SERIES W=$E2E/arm64/w-$SERIES RUN=$E2E/arm64/run-$SERIES; }
rm -rf "$W"
mkdir -p "$W"
DEBS=$DEBS WORK=$W bash e2e/arm64/build-image.sh > "$W/build.log" 2>&1 || { tail -n 20 "$W/build.log"; exit 1; }
rm -rf "$RUN"
mkdir -p "$RUN"
truncate -s 64M "$RUN/nvme.img"
dd if=/dev/zero bs=1M count=1 2> /dev/null | tr '\0' 'Z' | dd of="$RUN/nvme.img" conv=notrunc 2> /dev/null
t0=$SECONDS
timeout "${PRA_E2E_ARM64_TIMEOUT:-1800}" qemu-system-aarch64 -machine virt,iommu=smmuv3,gic-version=3 -accel tcg -cpu cortex-a57 -smp 2 -m 1536M \
    -nodefaults -display none -no-reboot -serial stdio -monitor none \
    -device pcie-root-port,id=rp1,chassis=1,slot=1 -netdev hubport,id=n1,hubid=0 -device e1000e,bus=rp1,netdev=n1 \
    -device pcie-root-port,id=rp2,chassis=2,slot=2 -drive file="$RUN/nvme.img",if=none,id=d0,format=raw -device nvme,drive=d0,serial=prae2e0,bus=rp2 \
    -kernel "$W/Image" -initrd "$W/initrd.img" -append "console=ttyAMA0 crashkernel=256M iomem=relaxed panic=5" \
    < /dev/null 2>&1 | while IFS= read -r l; do printf '[%7d] %s\n' $((SECONDS - t0)) "$l"; done > "$RUN/console.log" || :
wall=$((SECONDS - t0))
echo "# arm64 ($SERIES): QEMU ran ${wall}s; console $RUN/console.log"
mkdir -p "$RUN/fx"
if ! tar -xf "$RUN/nvme.img" -C "$RUN/fx" 2> "$RUN/tar.err"; then
    echo "not ok - arm64: the capture kernel's tree came back (tar on the NVMe disk): $(head -c 300 "$RUN/tar.err")"
    grep '^\[.*@@' "$RUN/console.log" | tail -n 5
    exit 1
fi
echo "ok - arm64: the capture kernel's tree came back ($(find "$RUN/fx/root" | wc -l) entries)"
# The crashed kernel's dmesg, written by the first kernel 32 MiB into the disk just before the crash.
dd if="$RUN/nvme.img" bs=1M skip=32 count=1 2> /dev/null | tr -d '\0' > "$RUN/fx/first-dmesg.txt"
# vmcore-dmesg's output is the old log only when it is one (bookworm's kexec-tools fails on arm64 6.1).
old_log=first-dmesg.txt
grep -q 'Linux version' "$RUN/fx/old-log.txt" && old_log=old-log.txt
# Relative paths, so the verdict saved with the fixture names no directory of this machine.
(cd "$RUN/fx" && node "$PROJECT/dist/bundle/pci-reset-agent.mjs" iommu --root root --old-log "$old_log" --no-registers --json) > "$RUN/iommu.json" || :
# What the scenario set up: an SMMU on in the crashed kernel, reset by mainline in the capture kernel.
# shellcheck disable=SC2016 # JavaScript, not shell
node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const u = j.units.find((x) => x.name === "smmu3.0x0000000009050000");
const checks = [
  ["capture kernel detected (device tree /chosen/linux,elfcorehdr or /proc/vmcore)", j.captureKernel === true, ""],
  ["SMMUv3 unit smmu3.0x0000000009050000 found", !!u, j.units.map((x) => x.name).join(", ")],
  ["case 4, smmu.outcome aborted (\"SMMU currently enabled! Resetting...\")", j.case === "4" && u?.smmu?.outcome === "aborted", `case ${j.case}, outcome ${u?.smmu?.outcome}, missing ${JSON.stringify(j.missing)}`],
  ["every PCI function is behind the SMMU", j.devices.length > 0 && j.devices.every((d) => d.unit === u?.name), j.devices.map((d) => `${d.bdf}:${d.unit}`).join(" ")],
];
for (const [name, ok, detail] of checks) console.log(`${ok ? "ok" : "not ok"} - arm64: ${name}${detail ? ` — ${detail}` : ""}`);
process.exit(checks.every((c) => c[1]) ? 0 : 1);
' "$RUN/iommu.json" || verdict=1
if [[ -n ${FIXTURE:-} ]]; then
    rm -rf "$FIXTURE"
    mkdir -p "$FIXTURE"
    cp -a "$RUN/fx/root" "$FIXTURE/root"
    cp "$RUN/fx/registers.txt" "$RUN/fx/first-dmesg.txt" "$FIXTURE/"
    if grep -q 'Linux version' "$RUN/fx/old-log.txt"; then cp "$RUN/fx/old-log.txt" "$FIXTURE/"; else cp "$RUN/fx/old-log.txt" "$FIXTURE/vmcore-dmesg.err"; fi
    cp "$RUN/iommu.json" "$FIXTURE/iommu.json"
    echo "Captured $(date -u +%F) by e2e/arm64/run.sh: a real crash (sysrq-c, DMA in flight) under $(qemu-system-aarch64 --version | head -n 1), -machine virt,iommu=smmuv3 TCG, Debian's arm64 kernel $(cat "$RUN/fx/root/proc/sys/kernel/osrelease"); root/ is the capture kernel's tree copied by e2e/arm64/init's shell step (no node in the arm64 image), first-dmesg.txt is the crashed kernel's dmesg written to disk seconds before sysrq-c, old-log.txt is vmcore-dmesg /proc/vmcore there (vmcore-dmesg.err instead when bookworm's kexec-tools 2.0.25 could not read it: its arm64 core header lacks the kernel image mapping), registers.txt is devmem of the SMMU there; iommu.json is the agent run on the host with --root --old-log (old-log.txt, else first-dmesg.txt) --no-registers." > "$FIXTURE/SOURCE"
    echo "# arm64: fixture saved in $FIXTURE"
fi
exit "${verdict:-0}"
