#!/usr/bin/env bash
# fio through the aisio engine against fio's own kernel engines and against
# 'aisio perf run', in the QEMU testbed guest on QEMU's NVMe controller:
# 4 KiB random reads at QD 1 and 128, IOPS and CPU per I/O, min/median/max
# of RUNS runs (bench/fio-engine/guest.sh does the work in the guest).
# Under TCG software emulation the IOPS measure QEMU more than any path;
# the CPU per I/O is the guest's view of each program's own cost.
#
#   bench/fio-engine/run-vm.sh [BUILD_DIR]          (default: build)
#
# Environment: RUN_SECONDS (5), RUNS (3), QDS ("1 128"); AISIO_TESTBED_CACHE.
# Writes bench/fio-engine/results-guest-<host>.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
host=$(hostname -s 2>/dev/null || echo host)
out=$here/results-guest-$host.md
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
[ -f "$build/fio/libaisio-fio.so" ] ||
	{ echo "run-vm.sh: no fio engine in $build (meson's summary says why)" >&2; exit 1; }

start=$(date -u +%Y-%m-%dT%H:%MZ)
"$root/testbed/run.sh" --nvme size=256M --timeout 900 --results "$res" \
	--env RUN_SECONDS="${RUN_SECONDS:-5}" --env RUNS="${RUNS:-3}" --env QDS="${QDS:-1 128}" -- \
	sh -c "uname -r > '$res/kernel'; nproc > '$res/nproc'; '$here/guest.sh' '$build' '$res/table.md'"
{
	echo "# fio engine vs fio's kernel engines and aisio perf, in the testbed guest"
	echo
	echo "Run $start on $host ($(nproc) host CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end), $(qemu-system-x86_64 --version | head -n1),"
	echo "guest kernel $(cat "$res/kernel"), $(cat "$res/nproc") guest CPUs, TCG software emulation; one QEMU NVMe"
	echo "controller, 256 MiB namespace of 512 B blocks, filled once before the runs. $(fio --version)."
	echo "Job: 4 KiB random reads over the namespace, one job, ${RUN_SECONDS:-5} s per run, ${RUNS:-3} runs"
	echo "per case, cases interleaved. CPU per I/O: user + system time over the measured run (fio:"
	echo "usr_cpu + sys_cpu of the job; aisio perf: its getrusage() figure) over the I/Os completed."
	echo "Command: bench/fio-engine/run-vm.sh (RUN_SECONDS=${RUN_SECONDS:-5} RUNS=${RUNS:-3} QDS=\"${QDS:-1 128}\")"
	echo
	echo "- io_uring: fio --ioengine=io_uring --direct=1 on /dev/nvme0n1"
	echo "- io_uring_cmd: fio --ioengine=io_uring_cmd --cmd_type=nvme on /dev/ng0n1"
	echo "- engine: fio --ioengine=external:libaisio-fio.so --thread --aisio_uri=pci:0000:01:00.0,drv=vfio"
	echo "- perf: aisio perf run --threads 1 on pci:0000:01:00.0,drv=vfio"
	echo
	cat "$res/table.md"
} >"$out"
cat "$out"
