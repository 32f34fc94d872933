#!/bin/bash
# Inside the guest booted by conformance-uio / conformance-vfio: the driver's
# conformance suite (tests/model/conformance) against each QEMU controller
# through one binding, then the controller must be back on the kernel driver.
# Controllers: 01:00.0 512 B LBAs, mdts=0 (no limit: the driver's 4 MiB);
#              02:00.0 4 KiB LBAs, mdts=10 (4 MiB); 03:00.0 mdts=2 (16 KiB).
# Transfers over 2 MiB + 4 KiB need chained PRP lists: those must really run
# and pass on 01 and 02, and be reported as skipped on 03.
# QEMU's controller fails a command that maps more than 1024 pages (IOV_MAX,
# one mapping per PRP entry) with Internal Error, whatever MDTS says: a
# 4 MiB transfer that starts mid-page spans 1025. --max-pages 1024 keeps
# transfers within that; chained lists need 514 to 1024 pages, so they run.
# Usage: conformance_guest.sh BUILD_DIR uio|vfio
build=$1 drv=$2
. "$(dirname "$0")/guest_lib.sh"
cd /tmp || exit 1
for spec in 0000:01:00.0:PASS 0000:02:00.0:PASS 0000:03:00.0:SKIP; do
	bdf=${spec%:*} want=${spec##*:}
	out=/tmp/conformance-${bdf//:/_}
	"$build/tests/model/conformance" --max-pages 1024 "pci:$bdf,drv=$drv" >"$out" 2>&1
	rc=$?
	cat "$out"
	check "conformance on $bdf via $drv (exit $rc)" test $rc = 0
	check "$bdf: prp-chained-lists is $want" grep -q ": $want prp-chained-lists" "$out"
	check "$bdf back on nvme" test "$(driver_of $bdf)" = nvme
done
finish
