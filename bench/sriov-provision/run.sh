#!/usr/bin/env bash
# bench/sriov-provision: time from "provision" to the first completion on a
# VF. RUNS times (default 3), each in a fresh QEMU testbed guest (QEMU NVMe
# with 2 VFs, PF kept by the kernel nvme driver), CYCLES cycles (default 20)
# of: homid --sriov vfs=2 (VFs enabled, resources assigned, secondaries
# online, namespaces attached, VFs bound to vfio-pci), then `aisio dev
# identify pci:VF1` (process start, vfio open, the VF's controller enabled,
# its admin queue created, Identify completed), then release (vfs=0).
# Per run: p50 and p99 (nearest rank; with 20 cycles p99 is the slowest
# cycle) of homid's provisioning run and of the time from its start to the
# Identify completion. Over runs: min / median / max of those. Under TCG
# emulation these are the emulator's numbers: the cost's shape, not
# hardware's. Writes results-<host>.md next to this script.
# MODE=pf: the PF owned by homid through vfio instead (tests/vm/sriov_pf_cycles.sh):
# one homid for the run, each cycle a SIGHUP release (vfs=0) and a SIGHUP
# provisioning (vfs=2) through homid's admin queue, timed until homid's
# status shows both VFs pooled, then `aisio dev identify homi:SOCK,mode=vf`
# (a VF taken from the pool, its controller up, Identify completed).
# Writes results-pf-<host>.md then.
# Usage: bench/sriov-provision/run.sh [BUILD_DIR]   (RUNS=N CYCLES=N MODE=kernel|pf)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
cycles=${CYCLES:-20}
runs=${RUNS:-3}
host=$(hostname -s 2>/dev/null || echo host)
mode=${MODE:-kernel}
case $mode in
kernel) cyc=sriov_cycles.sh out=${OUT:-$here/results-$host.md} ;;
pf) cyc=sriov_pf_cycles.sh out=${OUT:-$here/results-pf-$host.md} ;;
*) echo "MODE is kernel or pf" >&2; exit 2 ;;
esac
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

ninja -C "$build" aisio homid >/dev/null
start=$(date -u +%Y-%m-%dT%H:%MZ)
for r in $(seq "$runs"); do
	mkdir -p "$res/$r"
	"$root/testbed/run.sh" --nvme sriov=2 --results "$res/$r" --timeout 600 -- \
		sh -c "uname -r > '$res/$r/kernel'; '$root/tests/vm/$cyc' '$build' $cycles 2 '$res/$r/times'"
done
# nearest-rank percentile P of the numbers on stdin
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((p * NR + 99) / 100); if (i < 1) i = 1; print v[i] }'; }
spread() { sort -n | awk '{ v[NR] = $1 } END { printf "%d | %d | %d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
for r in $(seq "$runs"); do
	for col in 4 6; do
		awk -v c=$col '{ print $c }' "$res/$r/times" | pct 50 >>"$res/p50.$col"
		awk -v c=$col '{ print $c }' "$res/$r/times" | pct 99 >>"$res/p99.$col"
	done
done
{
	echo "# SR-IOV: provision to the first completion on a VF"
	echo
	echo "Run $start on $host ($(nproc) host CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end),"
	echo "$(qemu-system-x86_64 --version | head -n1), guest kernel $(cat "$res/1/kernel"), TCG software"
	if [ "$mode" = pf ]; then
	echo "emulation. QEMU NVMe in an nvme-subsys with 2 VFs (6 VQ and 2 VI flexible), the PF"
	echo "owned by homid through vfio. Command: \`MODE=pf bench/sriov-provision/run.sh\` ($runs"
	echo "runs, each a fresh guest, of $cycles cycles)."
	echo
	echo "Per cycle: the configuration's sriov line set to vfs=0 and SIGHUP (released: offline,"
	echo "resources and namespaces taken back, VFs disabled), then vfs=2 and SIGHUP: VFs enabled,"
	echo "3 VQ + 1 VI assigned to each secondary, online, the namespace attached, bound to"
	echo "vfio-pci, pooled, all through homid's admin queue; \"provisioning\" ends when \`aisio homi"
	echo "status\` (polled every 0.1 s) shows both VFs pooled. Then \`aisio dev identify"
	echo "homi:SOCK,mode=vf\` (process start, VF_TAKE: homid opens the VF with its VF token and"
	echo "passes the descriptors, controller enable, admin queue, Identify: the first"
	echo "completion on the VF). Both rows are timed from the SIGHUP. p50/p99 per run are"
	echo "nearest-rank over its $cycles cycles."
	else
	echo "emulation. QEMU NVMe in an nvme-subsys with 2 VFs (6 VQ and 2 VI flexible), the PF on"
	echo "the kernel nvme driver. Command: \`bench/sriov-provision/run.sh\` ($runs runs, each a fresh"
	echo "guest, of $cycles cycles)."
	echo
	echo "Per cycle: \`homid --sriov pci:01:00.0,vfs=2\` (VFs enabled, 3 VQ + 1 VI assigned to"
	echo "each secondary, online, the PF's shared namespace attached, bound to vfio-pci), then"
	echo "\`aisio dev identify pci:VF1\` (process start, vfio open, controller enable, admin queue,"
	echo "Identify: the first completion on the VF), then \`vfs=0\` (offline, resources and"
	echo "namespaces taken back, VFs disabled). p50/p99 per run are nearest-rank over its $cycles"
	echo "cycles (with 20, p99 is the slowest cycle)."
	fi
	echo
	echo "| ms, over $runs runs | p50 min | p50 median | p50 max | p99 min | p99 median | p99 max |"
	echo "|---|---|---|---|---|---|---|"
	echo "| $([ "$mode" = pf ] && echo "SIGHUP to both VFs pooled (provisioning)" || echo "homid --sriov (provisioning)") | $(spread <"$res/p50.4") | $(spread <"$res/p99.4") |"
	echo "| $([ "$mode" = pf ] && echo "SIGHUP" || echo "provision start") to the first VF completion | $(spread <"$res/p50.6") | $(spread <"$res/p99.6") |"
	echo
	echo "Per run (ms): provisioning p50 / p99, to the first completion p50 / p99"
	echo
	for r in $(seq "$runs"); do
		echo "- run $r: $(sed -n "${r}p" "$res/p50.4") / $(sed -n "${r}p" "$res/p99.4"), $(sed -n "${r}p" "$res/p50.6") / $(sed -n "${r}p" "$res/p99.6")"
	done
	echo
	echo "Raw: \`cycle I provision_ms P first_completion_ms F\`"
	for r in $(seq "$runs"); do
		echo
		echo "Run $r:"
		echo
		echo '```'
		cat "$res/$r/times"
		echo '```'
	done
} >"$out"
echo "wrote $out"
