# The Linux kernel's NVMe/TCP target on loopback, set up through configfs
# (sourced inside the testbed guest by tests/vm/tcp_guest.sh and bench/nvme-tcp).
# nvmet_up loads nvmet, nvmet-tcp, nvme-tcp and null_blk, brings lo up, makes a
# 256 MiB memory-backed null_blk (/dev/nullb1, 4 KiB blocks, discard) and exports
# QEMU's NVMe namespace ($1) and the null_blk on 127.0.0.1:4420.
cfg=/sys/kernel/config/nvmet
nqn_q=nqn.2026-01.io.aisio:qemu nqn_n=nqn.2026-01.io.aisio:null
hostnqn=nqn.2026-01.io.aisio:kernel-host
mp() { modprobe -d /run/testbed "$@"; }

nvmet_subsys() { # nvmet_subsys NQN DEVICE
	mkdir $cfg/subsystems/$1 &&
		echo 1 >$cfg/subsystems/$1/attr_allow_any_host &&
		mkdir $cfg/subsystems/$1/namespaces/1 &&
		echo -n "$2" >$cfg/subsystems/$1/namespaces/1/device_path &&
		echo 1 >$cfg/subsystems/$1/namespaces/1/enable
}
nvmet_port_up() {
	mkdir -p $cfg/ports/1 &&
		echo tcp >$cfg/ports/1/addr_trtype && echo ipv4 >$cfg/ports/1/addr_adrfam &&
		echo 127.0.0.1 >$cfg/ports/1/addr_traddr && echo 4420 >$cfg/ports/1/addr_trsvcid &&
		ln -s $cfg/subsystems/$nqn_q $cfg/ports/1/subsystems/$nqn_q &&
		ln -s $cfg/subsystems/$nqn_n $cfg/ports/1/subsystems/$nqn_n
}
nvmet_port_down() {
	rm -f $cfg/ports/1/subsystems/$nqn_q $cfg/ports/1/subsystems/$nqn_n
	rmdir $cfg/ports/1
}
nvmet_up() { # nvmet_up QEMU_BLOCK_DEVICE
	local m nb=/sys/kernel/config/nullb/nullb1
	ip link set lo up || return 1
	for m in configfs nvmet nvmet-tcp nvme-tcp; do
		mp $m || { echo "modprobe $m failed" >&2; return 1; }
	done
	mp null_blk nr_devices=0 || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || return 1
	mkdir $nb && echo 256 >$nb/size && echo 4096 >$nb/blocksize && echo 1 >$nb/memory_backed && echo 1 >$nb/discard &&
		echo 1 >$nb/power || return 1
	test -b /dev/nullb1 || return 1
	nvmet_subsys $nqn_q "$1" && nvmet_subsys $nqn_n /dev/nullb1 && nvmet_port_up
}

# The kernel initiator's block device for subsystem NQN, after nvme connect.
kdev_of() {
	local c d n
	for c in /sys/class/nvme/nvme*; do
		[ "$(cat $c/subsysnqn 2>/dev/null)" = "$1" ] || continue
		[ "$(cat $c/transport 2>/dev/null)" = tcp ] || continue
		for d in $c/nvme*n*; do
			[ -e "$d" ] || continue
			n=$(basename $d)
			case "$n" in nvme*c*n*) n=${n%%c*}n${n##*n} ;; esac
			[ -b /dev/$n ] && { echo /dev/$n; return 0; }
		done
	done
	return 1
}
kdev_try() { kdev_of "$1" >/dev/null; }
