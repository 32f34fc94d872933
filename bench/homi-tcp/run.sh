#!/usr/bin/env bash
# bench/homi-tcp: what homid costs on a remote controller. In the
# testbed guest, the kernel's nvmet-tcp on loopback exports a memory-backed
# null_blk; 4 KiB randread and randwrite at QD32, three runs each, alternating:
#   tcp:      aisio perf run nvme+tcp://127.0.0.1/NQN   (the client's own association)
#   direct:   aisio perf run homi:SOCK,mode=direct      (a connection homid handed over)
#   mediated: aisio perf run homi:SOCK,mode=mediated    (homid's connection, its checks)
# IOPS and whole-guest CPU per I/O, min / median / max (guest.sh).
# Writes results-<host>.md next to this script.
# Usage: bench/homi-tcp/run.sh [BUILD_DIR] [RUNTIME_S]   (defaults: build, 5)
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
"$root/testbed/run.sh" --results "$res" --timeout 900 --nvme size=256M,lbads=512 -- \
	sh -c "uname -r > '$res/kernel'; '$here/guest.sh' '$build' '$res/table.md' $rt"
{
	echo "# homid on a remote controller: direct and mediated clients against the initiator alone"
	echo
	echo "Run $start on $host ($(nproc) host CPUs), $(qemu-system-x86_64 --version | head -n1),"
	echo "guest kernel $(cat "$res/kernel"), 2 guest CPUs. Target: the kernel's nvmet-tcp on"
	echo "127.0.0.1:4420 exporting a 256 MiB memory-backed null_blk (4 KiB blocks). \`aisio perf"
	echo "run\` (1 thread, 1 queue), 4 KiB, 128 MiB span, ${rt} s per run, three runs per row,"
	echo "alternating: on nvme+tcp:// directly, and through homid (\`homi:\`, direct and mediated),"
	echo "which owns the same subsystem. Whole-guest CPU: busy time from /proc/stat per I/O"
	echo "(target, homid's mediator and the client together)."
	echo
	echo "Emulated CPUs on a shared $(nproc)-CPU host: only the ratios within one run mean anything."
	echo
	cat "$res/table.md"
} >"$out"
echo "wrote $out"
