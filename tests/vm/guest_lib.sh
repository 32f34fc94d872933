# Helpers for scripts that run inside the testbed guest (sourced).
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check "what" command...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# The block device of namespace NSID (default 1) of the controller at BDF,
# waiting for the kernel driver's asynchronous scan; prints /dev/NAME.
blkdev_of() {
	local bdf=$1 nsid=${2:-1} i d
	for i in $(seq 300); do
		for d in /sys/bus/pci/devices/"$bdf"/nvme/nvme*/nvme*n"$nsid"; do
			[ -e "$d" ] || continue
			d=$(basename "$d")
			# Multipath (nvme-subsys) hides nvmeXcYnZ behind nvmeXnZ.
			case "$d" in *c*n*) d=${d%%c*}n$nsid ;; esac
			if [ -b "/dev/$d" ]; then
				echo "/dev/$d"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
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
