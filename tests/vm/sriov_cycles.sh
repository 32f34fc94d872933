#!/bin/bash
# Inside a testbed guest with QEMU NVMe at 01:00.0 offering VFs: N cycles of
# provision (homid --sriov vfs=V), use (the user-space driver reads through
# every VF), release (vfs=0). After each release no resource may stay
# assigned to a secondary and every secondary must be offline; after each
# provisioning every VF must be online on vfio-pci.
# Per cycle, one line "cycle I provision_ms P first_completion_ms F" into
# TIMES: P = homid --sriov's run, F = from its start until `aisio dev
# identify pci:VF1` returned (the user-space driver brought the VF's
# controller up and completed Identify on it).
# Usage: sriov_cycles.sh BUILD_DIR CYCLES VFS TIMES
build=$1 cycles=$2 vfs=$3 times=$4
aisio=$build/aisio
homid=$build/homid
pf=0000:01:00.0
sys=/sys/bus/pci/devices/$pf
now_ms() { echo $(($(date +%s%N) / 1000000)); }
bad=0
: >"$times"
for i in $(seq "$cycles"); do
	t0=$(now_ms)
	if ! "$homid" --sriov pci:$pf,vfs="$vfs" --log-level warning >/dev/null; then
		echo "cycle $i: provisioning failed" >&2
		bad=$((bad + 1))
		break
	fi
	t1=$(now_ms)
	vf1=$(basename "$(readlink $sys/virtfn0)")
	if ! "$aisio" dev identify pci:"$vf1" >/dev/null; then
		echo "cycle $i: identify through $vf1 failed" >&2
		bad=$((bad + 1))
	fi
	t2=$(now_ms)
	echo "cycle $i provision_ms $((t1 - t0)) first_completion_ms $((t2 - t0))" >>"$times"
	st=$("$homid" --sriov-status pci:$pf)
	n=$(grep -c 'online .*driver vfio-pci' <<<"$st")
	if [ "$n" != "$vfs" ]; then
		echo "cycle $i: $n of $vfs VFs online on vfio-pci:" >&2
		echo "$st" >&2
		bad=$((bad + 1))
	fi
	for v in $(seq 2 "$vfs"); do
		vb=$(basename "$(readlink $sys/virtfn$((v - 1)))")
		"$aisio" dev identify pci:"$vb" >/dev/null || {
			echo "cycle $i: identify through $vb failed" >&2
			bad=$((bad + 1))
		}
	done
	if ! "$homid" --sriov pci:$pf,vfs=0 --log-level warning >/dev/null; then
		echo "cycle $i: release failed" >&2
		bad=$((bad + 1))
		break
	fi
	st=$("$homid" --sriov-status pci:$pf)
	if ! grep -q "VQ flexible [0-9]*: 0 assigned" <<<"$st" ||
		! grep -q "VI flexible [0-9]*: 0 assigned" <<<"$st" ||
		grep -q " online " <<<"$st"; then
		echo "cycle $i: resources or online secondaries left after release:" >&2
		echo "$st" >&2
		bad=$((bad + 1))
	fi
done
[ "$bad" = 0 ]
