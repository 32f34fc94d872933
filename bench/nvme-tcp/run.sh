#!/usr/bin/env bash
# bench/nvme-tcp: aisio's NVMe/TCP initiator against the kernel's (nvme-tcp +
# fio), both on the kernel's nvmet-tcp target on loopback in the testbed guest
# (TCG software emulation): 4 KiB randread/randwrite at QD32 and QD128, three
# runs each; IOPS and CPU per I/O, min / median / max (guest.sh).
# Writes results-<host>.md next to this script.
# Usage: bench/nvme-tcp/run.sh [BUILD_DIR] [RUNTIME_S]   (defaults: build, 5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rt=${2:-5}
host=$(hostname -s 2>/dev/null || echo host)
out=${OUT:-$here/results-$host.md}
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

start=$(date -u +%Y-%m-%dT%H:%MZ)
"$root/testbed/run.sh" --results "$res" --timeout 1500 --nvme size=256M,lbads=512 -- \
	sh -c "uname -r > '$res/kernel'; '$here/guest.sh' '$build' '$res/table.md' $rt"
{
	echo "# NVMe/TCP: aisio's initiator against the kernel's, on nvmet-tcp"
	echo
	echo "Run $start on $host ($(nproc) host CPUs), $(qemu-system-x86_64 --version | head -n1),"
	echo "guest kernel $(cat "$res/kernel"), TCG software emulation, 2 guest CPUs. Target: the"
	echo "kernel's nvmet-tcp on 127.0.0.1:4420 exporting a 256 MiB memory-backed null_blk"
	echo "(4 KiB blocks). aisio: \`aisio perf run\` on nvme+tcp:// (1 thread, 1 queue); kernel:"
	echo "\`nvme connect\` and fio (io_uring, direct, 1 job) on its block device. 4 KiB, 128 MiB"
	echo "span, ${rt} s per run, three runs per row, aisio and the kernel alternating."
	echo
	echo "Process CPU: aisio perf's getrusage / fio's usr+sys (fio's excludes the kernel"
	echo "initiator's io_work kworkers). Whole-guest CPU: busy time from /proc/stat over the run"
	echo "(target included, the same target for both) per I/O: the fair per-I/O cost."
	echo
	echo "Emulated CPUs on a shared $(nproc)-CPU host: absolute numbers mean nothing, only the"
	echo "ratios within one run (and their spread)."
	echo
	cat "$res/table.md"
} >"$out"
echo "wrote $out"
