#!/bin/bash
# Inside the guest booted by kernel-crosscheck: data written from user space
# (uio, vfio) reads back byte for byte through the kernel's nvme driver after
# the function is given back to it, and the other way round. Twice: with the
# project's user-space driver (aisio perf verify, a stamp in every LBA) and
# with pci_nvme's independent minimal host (exact byte compare).
# Controllers: 01:00.0 with 512 B LBAs, 02:00.0 with 4 KiB LBAs.
# Usage: crosscheck_guest.sh BUILD_DIR
build=$1
aisio=$build/aisio
t=$build/tests/vm/pci_nvme
. "$(dirname "$0")/guest_lib.sh"
cd /tmp || exit 1

seed=100
for bdf in 0000:01:00.0 0000:02:00.0; do
	for drv in uio vfio; do
		uri="pci:$bdf,drv=$drv"
		# user space -> kernel
		seed=$((seed + 1))
		check "$uri writes (aisio perf verify, seed $seed)" \
			"$aisio" perf verify --only write --seed $seed --offset 1M --size 4M "$uri"
		dev=$(blkdev_of $bdf) || fail "$bdf: no block device after $drv"
		check "kernel $dev reads what $drv wrote" \
			"$aisio" perf verify --only read --seed $seed --offset 1M --size 4M "$dev"
		check "kernel $dev sees a wrong seed as wrong (negative check)" \
			not "$aisio" perf verify --only read --seed $((seed + 1000)) --offset 1M --size 64k "$dev"
		# kernel -> user space
		seed=$((seed + 1))
		check "kernel $dev writes (seed $seed)" \
			"$aisio" perf verify --only write --seed $seed --offset 8M --size 4M "$dev"
		check "$uri reads what the kernel wrote" \
			"$aisio" perf verify --only read --seed $seed --offset 8M --size 4M "$uri"
		check "$bdf back on nvme" test "$(driver_of $bdf)" = nvme
	done
done

# The same with an independent host and an exact byte compare.
bdf=0000:01:00.0
for drv in uio vfio; do
	seed=$((seed + 1))
	lba=$((32768 + seed * 256))
	check "pci_nvme write via $drv" "$t" write $bdf $drv $lba 200 $seed
	dev=$(blkdev_of $bdf) || fail "no block device after $drv"
	check "kernel reads byte for byte what $drv wrote" "$t" kread "$dev" $lba 200 $seed
	seed=$((seed + 1))
	lba=$((32768 + seed * 256))
	check "kernel write" "$t" kwrite "$dev" $lba 200 $seed
	check "$drv reads byte for byte what the kernel wrote" "$t" read $bdf $drv $lba 200 $seed
done
finish
