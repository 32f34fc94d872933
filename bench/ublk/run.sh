#!/usr/bin/env bash
# bench/ublk: fio 4 KiB random reads on homid's /dev/ublkb0 against the kernel
# NVMe driver on an identical QEMU controller, in the testbed guest (TCG):
# QD1 and QD128, three runs each, medians and spread; fio --verify on ublkb0.
# Then a second homid's ublk export of the null device model (emu:1G,null)
# against the kernel's null_blk, the same reads: the two block paths alone.
# Software emulation: only the ratios mean anything, and only on one machine.
# Writes results-<host>.md next to this script.
# Usage: bench/ublk/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
host=$(hostname -s 2>/dev/null || echo host)
out=${OUT:-$here/results-$host.md}
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

start=$(date -u +%Y-%m-%dT%H:%MZ)
"$root/testbed/run.sh" --results "$res" --timeout 900 --modules ublk_drv \
	--nvme size=1G,lbads=512 --nvme size=1G,lbads=512 -- \
	sh -c "uname -r > '$res/kernel'; '$here/guest.sh' '$build' '$res/table.md'"
{
	echo "# ublk: homid's /dev/ublkb0 against the kernel NVMe driver"
	echo
	echo "Run $start on $host ($(nproc) host CPUs), $(qemu-system-x86_64 --version | head -n1),"
	echo "guest kernel $(cat "$res/kernel"), TCG software emulation, 2 guest CPUs. Two identical"
	echo "QEMU NVMe controllers (1 GiB, 512 B blocks): 01:00.0 owned by homid through vfio and"
	echo "exported whole as /dev/ublkb0 (2 queues x 128, plain-buffer copy path), 02:00.0 on the"
	echo "kernel nvme driver. fio 4 KiB randread, io_uring, direct, 5 s after 1 s ramp, 256 MiB"
	echo "span written first; three runs per row, alternating targets."
	echo
	echo "The host was loaded (other work sharing its $(nproc) CPUs) and the guest runs under TCG"
	echo "emulation: absolute numbers mean nothing, only the ratios within one run (and their spread)."
	echo
	echo "Second table: after the first homid stopped, another homid (own socket) runs the device"
	echo "model with a null namespace (--ctrl emu:1G,null, 512 B blocks, no data stored) exported"
	echo "as a ublk device (2 queues x 128), against null_blk (queue_mode=2 blk-mq, irqmode=0,"
	echo "bs=512, 1 GiB, 2 submit queues x 128); same fio reads, no fill, alternating targets."
	echo
	cat "$res/table.md"
} >"$out"
echo "wrote $out"
