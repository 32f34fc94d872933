#!/bin/sh
# Guest init (busybox): load modules, mount the host root read-only over 9p,
# chroot into it and run the command run.sh left in the results share, write
# its exit status next to it, power off. Any failure ends in poweroff or a
# panic, and QEMU runs with -no-reboot, so the guest never lingers.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
hostname aisio-vm

results=""
hugepages=128
shell=0
keep=""
extra_mods=""
for a in $(cat /proc/cmdline); do
	case "$a" in
	aisio.results=*) results=${a#aisio.results=} ;;
	aisio.hugepages=*) hugepages=${a#aisio.hugepages=} ;;
	aisio.keep=*) keep=${a#aisio.keep=} ;;
	aisio.shell=1) shell=1 ;;
	aisio.modules=*) extra_mods=$(echo "${a#aisio.modules=}" | tr , ' ') ;;
	esac
done

die() {
	echo "testbed-init: $*"
	poweroff -f
}

for m in $(cat /etc/modules) $extra_mods; do
	modprobe "$m" 2>/dev/null || echo "testbed-init: module $m not loaded"
done

# Let every NVMe controller finish its kernel probe so tests see /dev/nvme*:
# wait while one is unbound (async probe running) or not yet live. A loaded
# host can stall the emulated CPUs for long, so the limit is generous (about
# 300 s; run.sh's --timeout bounds the whole run); a controller that ends
# dead stops the wait for itself. The namespace scan that follows is
# asynchronous too: tests wait for it (tests/vm/guest_lib.sh blkdev_of).
i=0
while [ $i -lt 3000 ]; do
	pending=0
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/class")" = 0x010802 ] || continue
		[ -e "$d/driver" ] || { pending=1; continue; }
		for c in "$d"/nvme/nvme*; do
			[ -e "$c/state" ] || continue
			case "$(cat "$c/state")" in new|connecting|resetting) pending=1 ;; esac
		done
	done
	[ $pending = 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
[ $pending = 0 ] || echo "testbed-init: an NVMe controller is still not live after $((i / 10)) s"

h=/mnt/host
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostfs $h ||
	die "cannot mount the host root (9p tag hostfs)"
mount -t proc proc $h/proc
mount -t sysfs sys $h/sys
mount -t configfs configfs $h/sys/kernel/config 2>/dev/null
mount -t devtmpfs dev $h/dev
mkdir -p $h/dev/pts $h/dev/shm $h/dev/hugepages
mount -t devpts devpts $h/dev/pts
mount -t tmpfs tmpfs $h/dev/shm
mount -t hugetlbfs hugetlbfs $h/dev/hugepages
# Hold on to the checkout (and the caller's directory) before the tmpfs
# mounts below can hide them; only paths under those mounts need it.
kept=""
n=0
for k in $(echo "$keep" | tr , ' '); do
	case "$k" in /tmp/*|/run/*|/root/*|/var/tmp/*) ;; *) continue ;; esac
	[ -d "$h$k" ] || continue
	n=$((n + 1))
	mkdir -p /mnt/keep/$n
	mount -o bind "$h$k" /mnt/keep/$n || die "cannot bind $k"
	kept="$kept $n:$k"
done
mount -t tmpfs tmpfs $h/tmp
mount -t tmpfs tmpfs $h/run
# The guest kernel's modules, for modprobe -d /run/testbed inside the chroot.
mkdir -p $h/run/testbed/lib/modules
mount -o bind,ro /lib/modules $h/run/testbed/lib/modules
mount -t tmpfs tmpfs $h/var/tmp 2>/dev/null
mount -t tmpfs tmpfs $h/root 2>/dev/null
echo "$hugepages" >/proc/sys/vm/nr_hugepages
for nk in $kept; do
	k=${nk#*:}
	mkdir -p "$h$k" 2>/dev/null
	mount -o bind "/mnt/keep/${nk%%:*}" "$h$k" || die "cannot make $k visible in the guest"
done

[ -n "$results" ] || die "no aisio.results= on the kernel command line"
# A results directory under /tmp or /run lies under a guest tmpfs now.
mkdir -p "$h$results" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results "$h$results" ||
	die "cannot mount the results share at $results"

if [ $shell = 1 ]; then
	setsid cttyhack chroot $h /bin/bash "$results/.testbed/cmd.sh"
	rc=$?
else
	chroot $h /bin/bash "$results/.testbed/cmd.sh" </dev/null
	rc=$?
fi
echo "$rc" >"$h$results/.testbed/rc"
sync
umount "$h$results"
poweroff -f
