#!/bin/bash
# Inside the guest booted by vm_hw: the hardware run.sh was asked for is
# there and the kernel sees it as expected.
#   01:00.0 512 B LBAs; 02:00.0 4 KiB LBAs, 2 namespaces; 03:00.0 mdts=2;
#   04:00.0 SR-IOV with 2 VFs.
# Usage: hw_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"

b1=$(blkdev_of 0000:01:00.0) || fail "no namespace on 01:00.0"
b2=$(blkdev_of 0000:02:00.0 1) || fail "no namespace 1 on 02:00.0"
b2b=$(blkdev_of 0000:02:00.0 2) || fail "no namespace 2 on 02:00.0"
b3=$(blkdev_of 0000:03:00.0) || fail "no namespace on 03:00.0"
check "01:00.0 namespace is a block device ($b1)" test -b "$b1"
check "$b1 is readable" dd if="$b1" of=/dev/null bs=1M count=4 iflag=direct status=none
check "02:00.0 has two namespaces ($b2, $b2b)" test -b "$b2" -a -b "$b2b" -a "$b2" != "$b2b"
check "guest kernel is 6.12" grep -q '^6\.12\.' /proc/sys/kernel/osrelease
check "/dev/vfio/vfio exists" test -c /dev/vfio/vfio
check "uio_pci_generic loaded" test -d /sys/bus/pci/drivers/uio_pci_generic
check "hugepages reserved" test "$(cat /proc/sys/vm/nr_hugepages)" -gt 0

lbs() { cat "/sys/block/$(basename "$1")/queue/logical_block_size"; }
check "01:00.0 has 512 B blocks ($b1)" test "$(lbs "$b1")" = 512
check "02:00.0 has 4 KiB blocks ($b2)" test "$(lbs "$b2")" = 4096
check "02:00.0 namespace 2 has 4 KiB blocks ($b2b)" test "$(lbs "$b2b")" = 4096
# mdts=2 with 4 KiB pages: 16 KiB per command.
mhs=$(cat "/sys/block/$(basename "$b3")/queue/max_hw_sectors_kb")
check "03:00.0 MDTS limits transfers to 16 KiB (max_hw_sectors_kb=$mhs)" test "$mhs" = 16
check "04:00.0 offers 2 VFs" test "$(cat /sys/bus/pci/devices/0000:04:00.0/sriov_totalvfs)" = 2
for f in 01 02 03 04; do
	check "$f:00.0 has an IOMMU group" test -e /sys/bus/pci/devices/0000:$f:00.0/iommu_group
	check "$f:00.0 is QEMU NVMe (1b36:0010)" test "$(cat /sys/bus/pci/devices/0000:$f:00.0/vendor):$(cat /sys/bus/pci/devices/0000:$f:00.0/device)" = 0x1b36:0x0010
done
# VFs appear when enabled (unprobed: a VF has no queues until the primary
# controller provisions it) and go away again.
pf=/sys/bus/pci/devices/0000:04:00.0
echo 0 >$pf/sriov_drivers_autoprobe
check "enabling 2 VFs on 04:00.0" sh -c "echo 2 > $pf/sriov_numvfs"
check "VFs 04:00.1 and 04:00.2 exist" test -e /sys/bus/pci/devices/0000:04:00.1 -a -e /sys/bus/pci/devices/0000:04:00.2
check "VF is a QEMU NVMe function" test "$(cat /sys/bus/pci/devices/0000:04:00.1/class)" = 0x010802
check "disabling the VFs" sh -c "echo 0 > $pf/sriov_numvfs"
check "pci_nvme error paths" "$build/tests/vm/pci_nvme" errors
echo "results share: $AISIO_RESULTS"
check "results share is writable" sh -c "echo ok > '$AISIO_RESULTS/hw_guest'"
finish
