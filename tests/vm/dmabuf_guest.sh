#!/bin/bash
# Runs inside the testbed guest (chrooted into the host root): loads the
# dma-buf importer module and runs every dmabuf check in one boot, then
# checks unloading and the kernel log. Prints PASS/FAIL lines; exits 1 when
# any check failed.
# Usage: dmabuf_guest.sh BUILD_DIR KO
set -u
build=$1
ko=$2
tests=$build/tests/vm
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
sub() {  # run a test program, its output indented; 77 counts as a failure here
	local what=$1; shift
	"$@" 2>&1 | sed 's/^/    /'
	local rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then pass "$what"; else fail "$what (exit $rc)"; fi
}

mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo "guest kernel $(uname -r); module $(modinfo -F vermagic "$ko" | cut -d' ' -f1)"

# ---- load ----
if ! insmod "$ko"; then
	fail "module loads"
	dmesg | tail -20
	exit 1
fi
pass "module loads ($(modinfo -F description "$ko"))"
for i in $(seq 50); do [ -c /dev/aisio-dmabuf ] && break; sleep 0.1; done
check "/dev/aisio-dmabuf is a root-only character device" \
	test -c /dev/aisio-dmabuf -a "$(stat -c %a /dev/aisio-dmabuf 2>/dev/null)" = 600
check "modinfo: license and DMA_BUF namespace" \
	test "$(modinfo -F license "$ko")" = "Dual MIT/GPL" -a "$(modinfo -F import_ns "$ko")" = DMA_BUF

# ---- ioctls, exporters, bad input, region provider ----
sub "ioctls: exporters, bounds, bad input, ownership, SIGKILL" "$tests/dmabuf_ioctl"
sub "region provider: dma-heap and udmabuf regions" "$tests/dmabuf_region"

bdf=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/class")" = 0x010802 ] && { bdf=$(basename "$d"); break; }
done

# ---- round trip: kernel -> controller -> dma-buf -> controller -> kernel ----
if [ -n "$bdf" ]; then
	sub "round trip: QEMU NVMe $bdf via the user-space driver (uio) into and out of dma-bufs" \
		"$tests/dmabuf_nvme" "$bdf"
fi

# ---- mapping for a PCI function: kernel nvme, vfio-pci (refused), uio ----
rebind() {  # rebind $bdf to driver $1
	local d=/sys/bus/pci/devices/$bdf
	[ -e "$d/driver" ] && echo "$bdf" >"$d/driver/unbind"
	echo "$1" >"$d/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	[ "$(basename "$(readlink "$d/driver")")" = "$1" ]
}
if [ -n "$bdf" ]; then
	echo "NVMe controller $bdf, IOMMU group $(basename "$(readlink /sys/bus/pci/devices/$bdf/iommu_group)"), domain $(cat /sys/bus/pci/devices/$bdf/iommu_group/type 2>/dev/null)"
	sub "pci: map for $bdf bound to nvme" "$tests/dmabuf_ioctl" pci "$bdf" ok
	if rebind vfio-pci; then
		sub "vfio: $bdf on vfio-pci: importer refuses (EBUSY), type 1 cannot map a dma-buf mmap (EFAULT)" \
			"$tests/dmabuf_ioctl" vfio "$bdf"
	else
		fail "pci: bind $bdf to vfio-pci"
	fi
	if rebind uio_pci_generic; then
		sub "pci: map for $bdf bound to uio_pci_generic" "$tests/dmabuf_ioctl" pci "$bdf" ok
	else
		fail "pci: bind $bdf to uio_pci_generic"
	fi
else
	echo "no NVMe controller in the guest: PCI mapping not checked"
fi

# ---- unload with attachments open ----
fifo=/tmp/dmabuf-hold
rm -f "$fifo"
mkfifo "$fifo"
"$tests/dmabuf_ioctl" hold >"$fifo" &
holder=$!
read -r -t 20 line <"$fifo"
check "unload: a process holds an attachment" test "${line:-}" = held
check "unload: module refcount is 1" test "$(cat /sys/module/dmabuf_import/refcnt)" = 1
if rmmod dmabuf_import 2>/dev/null; then
	fail "unload: rmmod refused while a file is open"
else
	pass "unload: rmmod refused while a file is open"
fi
check "unload: module still loaded" test -d /sys/module/dmabuf_import
kill -KILL "$holder"
wait "$holder" 2>/dev/null
check "unload: attachment released when the holder is killed" \
	test "$(cat /sys/class/misc/aisio-dmabuf/attachments)" = 0 -a "$(cat /sys/module/dmabuf_import/refcnt)" = 0
check "unload: rmmod succeeds" rmmod dmabuf_import
check "unload: device gone" test ! -e /sys/class/misc/aisio-dmabuf
check "reload: insmod and rmmod again" sh -c "insmod '$ko' && rmmod dmabuf_import"

# ---- kernel log ----
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(grep -c unreferenced /sys/kernel/debug/kmemleak)
	check "kmemleak: no leaks ($leaks)" test "$leaks" = 0
else
	echo "kmemleak: not in this kernel (CONFIG_DEBUG_KMEMLEAK off); leaks checked by attachment counts"
fi
bad=$(dmesg | grep -E 'BUG|WARNING|Oops|Call Trace|general protection|list_del corruption|refcount_t')
if [ -z "$bad" ]; then
	pass "kernel log free of BUG/WARNING/Oops"
else
	fail "kernel log free of BUG/WARNING/Oops"
	echo "$bad"
fi
dmesg | grep -i -E 'aisio|dmabuf' | sed 's/^/    dmesg: /'

echo "dmabuf guest checks: $fails failed"
[ "$fails" = 0 ]
