#!/bin/bash
# Inside the guest booted by vm_pci: the uio and vfio providers drive QEMU's
# NVMe controllers (512 B at 01:00.0, 4 KiB at 02:00.0) and hand them back
# to the kernel driver; data written from user space reads back through the
# kernel and the other way round.
# Usage: pci_guest.sh BUILD_DIR
build=$1
t=$build/tests/vm/pci_nvme
. "$(dirname "$0")/guest_lib.sh"

for bdf in 0000:01:00.0 0000:02:00.0; do
	for drv in uio vfio; do
		check "probe $bdf via $drv" "$t" probe $bdf $drv
		check "$bdf back on nvme after $drv" test "$(driver_of $bdf)" = nvme
	done
done
check "probe 01:00.0 with automatic binding" "$t" probe 01:00.0 auto

# Kernel cross-check, each direction, through each provider.
bdf=0000:01:00.0
seed=1
for drv in uio vfio; do
	lba=$((4096 + seed * 1024))
	check "user-space write via $drv" "$t" write $bdf $drv $lba 200 $seed
	dev=$(blkdev_of $bdf) || fail "no block device after $drv"
	check "kernel reads what $drv wrote" "$t" kread "$dev" $lba 200 $seed
	seed=$((seed + 1))
	lba=$((4096 + seed * 1024))
	check "kernel write" "$t" kwrite "$dev" $lba 200 $seed
	check "$drv reads what the kernel wrote" "$t" read $bdf $drv $lba 200 $seed
	seed=$((seed + 1))
done
finish
