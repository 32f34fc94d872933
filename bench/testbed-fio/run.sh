#!/usr/bin/env bash
# bench/testbed-fio: fio in the QEMU testbed guest against QEMU's NVMe
# namespace through the kernel (psync, libaio, io_uring, io_uring_cmd), each
# job verifying what it wrote. Under software emulation the IOPS show that
# the path works, not how fast it is: compare nothing across machines.
# Writes results-<host>.md next to this script.
# Usage: bench/testbed-fio/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
host=$(hostname -s 2>/dev/null || echo host)
out=${OUT:-$here/results-$host.md}
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

start=$(date -u +%Y-%m-%dT%H:%MZ)
"$root/testbed/run.sh" --results "$res" --timeout 400 -- \
	sh -c "uname -r > '$res/kernel'; '$root/tests/vm/fio_guest.sh' '$res/table.md'"
{
	echo "# fio in the testbed guest: function, not speed"
	echo
	echo "Run $start on $host ($(nproc) host CPUs), $(qemu-system-x86_64 --version | head -n1),"
	echo "guest kernel $(cat "$res/kernel"), TCG software emulation, one QEMU NVMe"
	echo "controller with a 64 MiB namespace of 512 B blocks on a sparse raw file."
	echo "Each job: 8 MiB of random 4 KiB writes, iodepth 16 (psync: 1), then fio's"
	echo "crc32c verification reads. The IOPS measure the emulator, not the path."
	echo
	cat "$res/table.md"
} >"$out"
echo "wrote $out"
