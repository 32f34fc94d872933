#!/bin/bash
# Inside the guest booted by vm_pci: the uio and vfio providers drive QEMU's
# NVMe controllers (512 B at 01:00.0, 4 KiB at 02:00.0) and hand them back
# to the kernel driver (crosscheck_guest.sh checks the data both ways).
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


# The aisio command line on pci: URIs (binding from the option, or automatic).
aisio=$build/aisio
for uri in pci:01:00.0,drv=uio pci:0000:01:00.0,drv=vfio pci:0000:02:00.0,nsid=1; do
	check "aisio dev identify $uri" sh -c "'$aisio' dev identify '$uri' | grep -q 'QEMU NVMe Ctrl'"
	check "aisio perf run $uri" "$aisio" perf run --runtime 1 --qdepth 16 --iopattern randrw "$uri"
done
check "aisio dev list shows the controllers" sh -c "'$aisio' dev list | grep -q nvme"
check "aisio dev identify rejects a missing function" not "$aisio" dev identify pci:0000:7f:00.0,drv=uio
finish
