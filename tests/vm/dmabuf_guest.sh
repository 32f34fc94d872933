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
if ! insmod "$ko" debug_hooks=1; then
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
sub "ioctls: exporters, bounds, bad input, ownership, SIGKILL, privilege, handles, exporter revocation" "$tests/dmabuf_ioctl"
sub "region provider: dma-heap and udmabuf regions" "$tests/dmabuf_region"

bdf=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/class")" = 0x010802 ] && { bdf=$(basename "$d"); break; }
done

# ---- round trip: kernel -> controller -> dma-buf -> controller -> kernel ----
if [ -n "$bdf" ]; then
	sub "round trip: QEMU NVMe $bdf via the user-space driver (uio) into and out of dma-bufs" \
		"$tests/dmabuf_nvme" "$bdf"
	check "round trip: regions released before the function went back to nvme (nothing revoked)" \
		sh -c "! dmesg | grep -q 'aisio-dmabuf: revoked'"
fi

# ---- mapping for a PCI function: kernel nvme (refused), vfio-pci (refused), uio, none ----
dev=/sys/bus/pci/devices/$bdf
driver_of() { basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null; }
unbind() { [ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"; echo >"$dev/driver_override"; [ ! -e "$dev/driver" ]; }
rebind() {  # rebind $bdf to driver $1
	unbind
	echo "$1" >"$dev/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	[ "$(driver_of)" = "$1" ]
}
rescan() {  # bring $bdf back after a remove (nvme binds it again)
	echo 1 >/sys/bus/pci/rescan
	for i in $(seq 100); do [ -e "$dev" ] && return 0; sleep 0.1; done
	return 1
}
# Attach for $bdf in state $1 (a driver name or "none"), then run $2 while
# attached: the attachment must be revoked (EPOLLERR, ENODEV).
revoke_case() {
	local state=$1 what=$2 log=/tmp/dmabuf-revoke.log pid i
	shift 2
	if [ "$state" = none ]; then unbind; else rebind "$state"; fi ||
		{ fail "revoke: put $bdf in state $state"; return; }
	rm -f "$log" # the last case's "attached" must not count for this one
	"$tests/dmabuf_ioctl" revoke "$bdf" >"$log" 2>&1 &
	pid=$!
	for i in $(seq 200); do grep -q '^attached' "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	"$@"
	wait "$pid"
	local rc=$?
	sed 's/^/    /' "$log"
	if [ "$rc" = 0 ]; then pass "revoke: $what"; else fail "revoke: $what (exit $rc)"; fi
}
if [ -n "$bdf" ]; then
	echo "NVMe controller $bdf, IOMMU group $(basename "$(readlink $dev/iommu_group)"), domain $(cat $dev/iommu_group/type 2>/dev/null)"
	sub "pci: $bdf bound to nvme is refused (EBUSY), its DMA mask untouched" "$tests/dmabuf_ioctl" pci "$bdf" busy
	check "pci: refusal logged with what to do" sh -c "dmesg | grep -q 'bound to driver nvme, which owns its DMA; unbind it'"
	if rebind vfio-pci; then
		sub "vfio: $bdf on vfio-pci: importer refuses (EBUSY), type 1 cannot map a dma-buf mmap (EFAULT)" \
			"$tests/dmabuf_ioctl" vfio "$bdf"
	else
		fail "pci: bind $bdf to vfio-pci"
	fi

	revoke_case uio_pci_generic "sysfs remove while on uio_pci_generic (unbind)" sh -c "echo 1 >$dev/remove"
	check "revoke: $bdf comes back on rescan" rescan

	if unbind; then
		sub "pci: map for $bdf bound to no driver" "$tests/dmabuf_ioctl" pci "$bdf" ok
	else
		fail "pci: unbind $bdf"
	fi
	if rebind uio_pci_generic; then
		sub "pci: map for $bdf bound to uio_pci_generic" "$tests/dmabuf_ioctl" pci "$bdf" ok
	else
		fail "pci: bind $bdf to uio_pci_generic"
	fi

	revoke_case none "sysfs remove while unbound (device deletion)" sh -c "echo 1 >$dev/remove"
	check "revoke: $bdf comes back on rescan" rescan
	# Attaching races with removal: every attach either is revoked or fails.
	unbind || fail "pci: unbind $bdf"
	rm -f /tmp/dmabuf-churn.log
	"$tests/dmabuf_ioctl" churn "$bdf" >/tmp/dmabuf-churn.log 2>&1 &
	churn=$!
	for i in $(seq 200); do grep -q '^attached' /tmp/dmabuf-churn.log && break; sleep 0.1; done
	sleep 0.5
	echo 1 >"$dev/remove"
	wait "$churn"
	rc=$?
	sed 's/^/    /' /tmp/dmabuf-churn.log
	if [ "$rc" = 0 ]; then pass "revoke: attach/detach loop while the function is removed"; else fail "revoke: attach/detach loop while the function is removed (exit $rc)"; fi
	check "revoke: $bdf comes back on rescan" rescan
	unbind || fail "pci: unbind $bdf"
	revoke_case uio_pci_generic "rebind from uio_pci_generic to vfio-pci" rebind vfio-pci
	revoke_case none "vfio-pci bound to the unbound function" rebind vfio-pci
	for why in "its driver is being unbound" "the function is being removed" "a driver is being bound to it"; do
		check "revoke: logged: $why" sh -c "dmesg | grep -q 'aisio-dmabuf: revoked 1 attachment(s) because $why'"
	done
	rebind nvme || fail "pci: $bdf back on nvme"
else
	echo "no NVMe controller in the guest: PCI mapping not checked"
fi

# ---- the DMA mask of a function no driver ever touched ----
# QEMU's pci-testdev (dmabuf_vm.sh adds one) has no driver: it keeps the
# PCI default 32-bit mask. The module sets 64 bits while it maps for it and
# puts 32 back after the last detach.
tdev=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0005 ] && tdev=$(basename "$d")
done
if [ -n "$tdev" ]; then
	check "mask: pci-testdev $tdev is unbound with a 32-bit DMA mask" \
		test ! -e "/sys/bus/pci/devices/$tdev/driver" -a "$(cat "/sys/bus/pci/devices/$tdev/dma_mask_bits")" = 32
	sub "mask: map for $tdev: 64 bits while attached, 32 again after" "$tests/dmabuf_ioctl" pci "$tdev" ok
else
	fail "mask: no pci-testdev (1b36:0005) in the guest"
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
# SLUB debugging and KFENCE (dmabuf_vm.sh turns them on at boot): every
# kmalloc object is checked now; corruption or a use after free is logged
# as a BUG and caught below.
if [ "$(cat /sys/kernel/slab/kmalloc-64/poison 2>/dev/null)" = 1 ]; then
	for v in /sys/kernel/slab/kmalloc-*/validate; do echo 1 >"$v"; done
	pass "slub_debug: kmalloc caches validated (poison, red zones, free lists)"
else
	echo "slub_debug: off in this boot; slab objects not validated"
fi
echo "kfence: sample interval $(cat /sys/module/kfence/parameters/sample_interval 2>/dev/null || echo none) ms"
bad=$(dmesg | grep -E 'BUG|WARNING|Oops|Call Trace|general protection|list_del corruption|refcount_t|KFENCE|Poison overwritten|Redzone|Freepointer')
if [ -z "$bad" ]; then
	pass "kernel log free of BUG/WARNING/Oops"
else
	fail "kernel log free of BUG/WARNING/Oops"
	echo "$bad"
fi
dmesg | grep -i -E 'aisio|dmabuf' | sed 's/^/    dmesg: /'

echo "dmabuf guest checks: $fails failed"
[ "$fails" = 0 ]
