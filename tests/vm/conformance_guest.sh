#!/bin/bash
# Inside the guest booted by conformance-uio / conformance-vfio: the driver's
# conformance suite (tests/model/conformance) against each QEMU controller
# through one binding, then the controller must be back on the kernel driver.
# Controllers: 01:00.0 512 B LBAs, mdts=9 (chained PRP lists);
#              02:00.0 4 KiB LBAs; 03:00.0 mdts=2 (16 KiB transfers).
# Usage: conformance_guest.sh BUILD_DIR uio|vfio
build=$1 drv=$2
. "$(dirname "$0")/guest_lib.sh"
cd /tmp || exit 1
for bdf in 0000:01:00.0 0000:02:00.0 0000:03:00.0; do
	check "conformance on $bdf via $drv" "$build/tests/model/conformance" "pci:$bdf,drv=$drv"
	check "$bdf back on nvme" test "$(driver_of $bdf)" = nvme
done
finish
