#!/usr/bin/env bash
# bench/sriov-provision: time from "provision" to the first completion on a
# VF. In the QEMU testbed guest (QEMU NVMe with 2 VFs, PF kept by the kernel
# nvme driver), CYCLES times (default 20): homid --sriov vfs=2, then
# `aisio dev identify pci:VF1` (the user-space driver enables the VF's
# controller, creates its admin queue and completes Identify), then release
# (vfs=0). Reports min / median / max of homid's provisioning run and of the
# time from its start to the Identify completion. Under TCG emulation these
# are the emulator's numbers: they show the cost's shape, not hardware's.
# Writes results-<host>.md next to this script.
# Usage: bench/sriov-provision/run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
cycles=${CYCLES:-20}
host=$(hostname -s 2>/dev/null || echo host)
out=${OUT:-$here/results-$host.md}
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

ninja -C "$build" aisio homid >/dev/null
start=$(date -u +%Y-%m-%dT%H:%MZ)
"$root/testbed/run.sh" --nvme sriov=2 --results "$res" --timeout 500 -- \
	sh -c "uname -r > '$res/kernel'; '$root/tests/vm/sriov_cycles.sh' '$build' $cycles 2 '$res/times'"
spread() { sort -n | awk '{ v[NR] = $1 } END { printf "%d | %d | %d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
{
	echo "# SR-IOV: provision to the first completion on a VF"
	echo
	echo "Run $start on $host ($(nproc) host CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end),"
	echo "$(qemu-system-x86_64 --version | head -n1), guest kernel $(cat "$res/kernel"), TCG software"
	echo "emulation. QEMU NVMe in an nvme-subsys with 2 VFs (6 VQ and 2 VI flexible), the PF on"
	echo "the kernel nvme driver. Command: \`bench/sriov-provision/run.sh\` ($cycles cycles)."
	echo
	echo "Per cycle: \`homid --sriov pci:01:00.0,vfs=2\` (VFs enabled, 3 VQ + 1 VI assigned to"
	echo "each secondary, online, bound to vfio-pci), then \`aisio dev identify pci:VF1\` (process"
	echo "start, vfio open, controller enable, admin queue, Identify), then \`vfs=0\`."
	echo
	echo "| ms | min | median | max |"
	echo "|---|---|---|---|"
	echo "| homid --sriov (provisioning) | $(awk '{ print $4 }' "$res/times" | spread) |"
	echo "| provision start to the first VF completion | $(awk '{ print $6 }' "$res/times" | spread) |"
	echo
	echo "Raw: \`cycle I provision_ms P first_completion_ms F\`"
	echo
	echo '```'
	cat "$res/times"
	echo '```'
} >"$out"
echo "wrote $out"
