#!/bin/bash
# Inside a testbed guest with QEMU NVMe at 01:00.0 offering VFs: homid owns
# the PF through vfio (vfio-pci enable_sriov on) with VFS VFs pooled, then
# CYCLES cycles of release (configuration vfs=0, SIGHUP, until homid's
# status shows no VF) and provision (vfs=VFS, SIGHUP, until every VF is
# pooled and online), then `aisio dev identify homi:SOCK,mode=vf`: a client
# takes a VF from the pool and completes Identify on it.
# Per cycle, one line "cycle I provision_ms P first_completion_ms F" into
# TIMES: P = from the SIGHUP until the status shows the VFs pooled (polled
# every 0.1 s), F = from the SIGHUP until the Identify returned.
# Usage: sriov_pf_cycles.sh BUILD_DIR CYCLES VFS TIMES
build=$1 cycles=$2 vfs=$3 times=$4
aisio=$build/aisio homid=$build/homid
pf=0000:01:00.0 sock=/tmp/homid-cycles.sock
conf=$(mktemp)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
setconf() {
	printf '[homid]\nsocket = %s\ncontroller = pci:%s,drv=vfio\nsriov = pci:%s,vfs=%s\nvf = sriov\nlog_level = warning\n' \
		$sock $pf $pf "$1" >"$conf"
}
pooled() { test "$(timeout 20 "$aisio" homi status --socket $sock 2>/dev/null | grep -c ' free (PF .*online')" = "$1"; }
wait_pooled() {
	for _ in $(seq 3000); do
		kill -0 $hpid 2>/dev/null || return 1
		pooled "$1" && return 0
		sleep 0.1
	done
	return 1
}
modprobe vfio-pci 2>/dev/null
echo 1 >/sys/module/vfio_pci/parameters/enable_sriov || exit 1
setconf "$vfs"
"$homid" --foreground --config "$conf" &
hpid=$!
bad=0
wait_pooled "$vfs" || { echo "homid did not pool $vfs VFs" >&2; bad=1; cycles=0; }
: >"$times"
for i in $(seq "$cycles"); do
	setconf 0
	kill -HUP $hpid
	if ! wait_pooled 0 || ! timeout 20 "$aisio" homi status --socket $sock | grep -q ": 0 of "; then
		echo "cycle $i: release failed" >&2
		bad=$((bad + 1))
		break
	fi
	setconf "$vfs"
	t0=$(now_ms)
	kill -HUP $hpid
	if ! wait_pooled "$vfs"; then
		echo "cycle $i: provisioning failed" >&2
		bad=$((bad + 1))
		break
	fi
	t1=$(now_ms)
	"$aisio" dev identify "homi:$sock,mode=vf" >/dev/null || {
		echo "cycle $i: identify through a VF from the pool failed" >&2
		bad=$((bad + 1))
	}
	t2=$(now_ms)
	echo "cycle $i provision_ms $((t1 - t0)) first_completion_ms $((t2 - t0))" >>"$times"
done
kill -TERM $hpid
wait $hpid || bad=$((bad + 1))
rm -f "$conf"
[ "$bad" = 0 ]
