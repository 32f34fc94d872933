# Helpers for scripts that run inside the testbed guest (sourced).
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check "what" command...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# Waiting for the kernel. A loaded host can stall the emulated CPUs for
# many seconds, so no wait here is a short fixed time: each one polls the
# condition the kernel will make true, stops early when the kernel says it
# never will (a controller dead or unbound), and gives up only after
# $AISIO_GUEST_WAIT_S seconds (default 300; the whole run has its own limit).
guest_wait_s=${AISIO_GUEST_WAIT_S:-300}

# wait_until WHAT CMD...: poll CMD until it returns 0 (done) or 2 (never
# will; CMD says why on stderr) or the deadline passes.
wait_until() {
	local what=$1 end=$((SECONDS + guest_wait_s)) rc
	shift
	while :; do
		"$@"
		rc=$?
		[ $rc = 0 ] && return 0
		[ $rc = 2 ] && { echo "wait: $what: gave up" >&2; return 1; }
		if [ $SECONDS -ge $end ]; then
			echo "wait: $what: not done after ${guest_wait_s}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# A daemon's open descriptors. A client's connection closes in the daemon a
# moment after the client exits, so a baseline is taken once the count
# holds still, and a leak check gives the count a while to come back down:
# a leaked descriptor never does.
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
fd_count_settled() { # PID: the count once two samples 0.5 s apart agree
	local a b
	b=$(fd_count "$1")
	for _ in $(seq 20); do
		sleep 0.5
		a=$b b=$(fd_count "$1")
		[ "$a" = "$b" ] && break
	done
	echo "$b"
}
fds_at_most() { # PID N
	kill -0 "$1" 2>/dev/null || { echo "pid $1 exited" >&2; return 2; }
	[ "$(fd_count "$1")" -le "$2" ]
}
check_fds() { # WHAT PID N: PID comes back to N descriptors or fewer within 30 s
	local guest_wait_s=30
	if wait_until "$1" fds_at_most "$2" "$3"; then
		pass "$1"
	else
		fail "$1: $(fd_count "$2") open"
		ls -l "/proc/$2/fd"
	fi
}

# The kernel's name for the controller of the function at BDF (nvme0...).
ctrl_of() {
	local c
	for c in /sys/bus/pci/devices/"$1"/nvme/nvme*; do
		[ -e "$c/state" ] && { basename "$c"; return 0; }
	done
	return 1
}

# One try of blkdev_of: 0 with /dev/NAME printed, 1 not yet, 2 never.
# The kernel names a namespace nvme<subsystem>n<instance>, and the instance
# is not the NSID: a namespace that comes back while its old incarnation is
# still open somewhere (an io_uring ring torn down in the background) gets
# the next free instance (nvme0n2 for NSID 1). So the NSID is read from
# sysfs, never taken from the name.
ns_blkdev_try() {
	local bdf=$1 nsid=$2 fn=/sys/bus/pci/devices/$1 c state d name
	if [ ! -e "$fn" ]; then
		echo "$bdf: no such PCI function" >&2
		return 2
	fi
	if [ ! -e "$fn/driver" ]; then
		return 1 # being bound
	fi
	if [ "$(driver_of "$bdf")" != nvme ]; then
		echo "$bdf: bound to $(driver_of "$bdf"), not nvme" >&2
		return 2
	fi
	c=$(ctrl_of "$bdf") || return 1
	state=$(cat "$fn/nvme/$c/state" 2>/dev/null) || return 1
	case "$state" in
	live) ;;
	new|connecting|resetting) return 1 ;;
	*)
		echo "$bdf: controller $c is $state" >&2
		return 2
		;;
	esac
	for d in "$fn/nvme/$c"/nvme*n*; do
		[ "$(cat "$d/nsid" 2>/dev/null)" = "$nsid" ] || continue
		name=$(basename "$d")
		# Multipath hides the path nvmeXcYnZ behind the head nvmeXnZ.
		case "$name" in nvme*c*n*) name=${name%%c*}n${name##*n} ;; esac
		[ -b "/dev/$name" ] || return 1
		echo "/dev/$name"
		return 0
	done
	return 1 # live, namespace scan not done yet
}

# The block device of namespace NSID (default 1) of the controller at BDF,
# after the kernel driver's asynchronous probe and namespace scan; prints
# /dev/NAME. On failure says why on stderr (controller state, namespaces).
blkdev_of() {
	local bdf=$1 nsid=${2:-1} c d
	if wait_until "namespace $nsid of $bdf" ns_blkdev_try "$bdf" "$nsid"; then
		return 0
	fi
	if c=$(ctrl_of "$bdf"); then
		echo "$bdf: controller $c state $(cat /sys/bus/pci/devices/"$bdf"/nvme/"$c"/state)" >&2
		for d in /sys/bus/pci/devices/"$bdf"/nvme/"$c"/nvme*n*; do
			[ -e "$d" ] && echo "$bdf: $(basename "$d") has NSID $(cat "$d/nsid")" >&2
		done
	fi
	return 1
}

# The NVMe generic (character) device beside block device /dev/nvmeXnY:
# /dev/ngXnY, which the kernel adds just after the disk.
ngdev_of() {
	local ng=/dev/ng${1#/dev/nvme}
	wait_until "$ng" test -c "$ng" && echo "$ng"
}

driver_of() {
	basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null
}

finish() {
	if [ "$fails" -gt 0 ]; then
		echo "$fails check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

not() { ! "$@"; }
