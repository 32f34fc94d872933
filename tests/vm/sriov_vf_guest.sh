#!/bin/bash
# Inside the guest booted by vm_sriov_vf (QEMU NVMe at 01:00.0 with 2 VFs,
# shared namespace 1): homid provisions the VFs (the kernel keeps the PF)
# from its configuration file, pools them, and hands them out whole: a client asks for one (homi:...,mode=vf), gets
# the VF's vfio descriptors over the socket and drives it with the
# user-space driver; when it exits homid resets the VF (FLR) and puts it
# back in the pool. Three cycles of two clients verifying at once; a third
# client and a request for a VF in use get clear refusals; afterwards both
# VFs are free, every reset succeeded and homid holds no more descriptors
# than after the first cycle.
# Usage: sriov_vf_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
aisio=$build/aisio homid=$build/homid loop=$build/tests/vm/homi_loop
pf=0000:01:00.0 sys=/sys/bus/pci/devices/0000:01:00.0 sock=/tmp/homid.sock
out=$(mktemp -d)
modprobe vfio-pci 2>/dev/null
cd /tmp || exit 1

# The pool from the configuration file: homid provisions the VFs of its
# sriov line and pools every one of them (vf = sriov); --check-config
# validates the VF lines first.
printf '[homid]\nsocket = %s\nsriov = pci:%s,vfs=2\nvf = sriov\n' $sock $pf >"$out/conf"
"$homid" --config "$out/conf" --check-config >"$out/cc" 2>&1
rc=$?
cat "$out/cc"
check "--check-config accepts sriov = and vf = sriov (exit $rc)" test $rc = 0
check "... and prints the pool" grep -q "vf: every VF the sriov line enables" "$out/cc"
printf '[homid]\nvf = sriov\n' >"$out/bad1"
printf '[homid]\nsriov = pci:%s,vfs=2\nvf = pci:%s\n' $pf $pf >"$out/bad2"
printf '[homid]\nvf = pci:01:00.1\nvf = 01:00.2\n' >"$out/bad3"
"$homid" --config "$out/bad1" --check-config >"$out/b1" 2>&1
check "--check-config: vf = sriov without an sriov line refused (exit $?)" grep -q "needs an sriov = line" "$out/b1"
"$homid" --config "$out/bad2" --check-config >"$out/b2" 2>&1
check "--check-config: the PF as a VF refused" grep -q "is the physical function of the sriov line" "$out/b2"
"$homid" --config "$out/bad3" --check-config >"$out/b3" 2>&1
check "--check-config: a VF without pci: refused, with its line" grep -q "bad3:3: vf = '01:00.2': give pci:BDF" "$out/b3"
check "no VF enabled by --check-config" test "$(cat $sys/sriov_numvfs)" = 0
"$homid" --foreground --config "$out/conf" 2>"$out/homid.log" &
hpid=$!
vf1= vf2=
pooled() {
	kill -0 $hpid 2>/dev/null || { echo "homid exited" >&2; return 2; }
	test "$(cat $sys/sriov_numvfs)" = 2 || return 1
	vf1=$(basename "$(readlink $sys/virtfn0)")
	vf2=$(basename "$(readlink $sys/virtfn1)")
}
check "homid --config provisions 2 VFs" wait_until "VFs enabled" pooled
status() { timeout 10 "$aisio" homi status --socket $sock; }
up() {
	kill -0 $hpid 2>/dev/null || { echo "homid exited" >&2; return 2; }
	status >/dev/null 2>&1
}
if ! wait_until "homid serving $sock" up; then
	cat "$out/homid.log"
	fail "homid starts with a pool of $vf1 $vf2"
	finish
fi
grep -E 'VF|virt-mgmt' "$out/homid.log" | tail -n 4
status | tee "$out/st0"
check "status lists both VFs free" test "$(grep -c ' free (PF ' "$out/st0")" = 2
check "status shows each VF's secondary controller and resources" \
	sh -c "grep '$vf1 free' '$out/st0' | grep -q 'secondary controller .*online, [0-9]* VQ, [0-9]* VI'"

fds1=
for cycle in 1 2 3; do
	# two clients write and verify stamps through their VFs until told to stop
	for i in 1 2; do
		"$loop" "homi:$sock,mode=vf" $((i * 16384)) 8192 600 >"$out/c$i" 2>&1 &
		eval p$i=$!
	done
	taken() { test "$(status | grep -c ' taken pid ')" = 2; }
	check "cycle $cycle: both VFs taken" wait_until "both VFs taken" taken
	status | grep ' taken pid ' | tee "$out/st1"
	check "cycle $cycle: status names each owner" \
		sh -c "grep -q 'taken pid $p1 ' '$out/st1' && grep -q 'taken pid $p2 ' '$out/st1'"
	"$aisio" perf run --runtime 1 "homi:$sock,mode=vf" >"$out/third" 2>&1
	rc=$?
	cat "$out/third"
	check "cycle $cycle: a third client refused (exit $rc)" test $rc != 0
	check "cycle $cycle: ... saying every VF is in use" grep -q 'all 2 VFs of the pool are in use' "$out/third"
	"$aisio" perf run --runtime 1 "homi:$sock,mode=vf,vf=$vf1" >"$out/named" 2>&1
	check "cycle $cycle: asking for $vf1 by name while in use refused" grep -q "VF $vf1 is in use by pid" "$out/named"
	for i in 1 2; do
		eval kill -TERM \$p$i
		eval wait \$p$i
		rc=$?
		cat "$out/c$i"
		check "cycle $cycle: client $i verified through its VF (exit $rc, 0 mismatches)" \
			sh -c "test $rc = 0 && grep -q ' 0 mismatches' '$out/c$i'"
	done
	free() { test "$(status | grep -c ' free (PF ')" = 2; }
	check "cycle $cycle: both VFs back in the pool" wait_until "both VFs free" free
	[ -z "$fds1" ] && fds1=$(fd_count_settled $hpid)
done
status | tee "$out/st2"
# "taken T time(s), R reset(s), F failed": every take ended in a reset, none failed
resets_ok() {
	awk '/ free \(PF / { for (i = 1; i <= NF; i++) { if ($i == "taken") t = $(i + 1);
		if ($i == "reset(s),") r = $(i - 1); if ($i == "failed") f = $(i - 1) }
		if (t >= 3 && t == r && f == 0) n++ } END { exit n == 2 ? 0 : 1 }' "$out/st2"
}
check "every take (3 or more per VF) ended in a successful reset" resets_ok
# the namespaces attached to each VF's secondary (CNS 12h; QEMU lists a VF
# under the PF's shared namespace once the VF's controller has been enabled)
check "status shows namespace 1 attached to both VFs" test "$(grep -c ' free (PF .*, namespaces 1)' "$out/st2")" = 2
check_fds "homid's descriptors after 3 cycles as after the first ($fds1)" $hpid "$fds1"
check "VFs still on vfio-pci" test "$(driver_of "$vf1"):$(driver_of "$vf2")" = vfio-pci:vfio-pci
check "aisio perf verify through a VF from the pool" \
	"$aisio" perf verify --seed 77 --offset 32M --size 16M "homi:$sock,mode=vf"
check "what it wrote reads back through the PF's kernel path" \
	"$aisio" perf verify --only read --seed 77 --offset 32M --size 16M "$(blkdev_of $pf 1)"
kill -TERM $hpid
wait $hpid
rc=$?
check "homid exits cleanly (exit $rc)" test $rc = 0
grep -E 'VF|took' "$out/homid.log" | tail -n 20
# One VF named in the configuration (vf = pci:BDF), beside --vf for the other.
printf '[homid]\nsocket = %s\nvf = pci:%s\n' $sock "$vf2" >"$out/conf2"
"$homid" --foreground --config "$out/conf2" --vf pci:$vf1 2>"$out/homid2.log" &
hpid=$!
two() { kill -0 $hpid 2>/dev/null || return 2; test "$(status | grep -c ' free (PF ')" = 2; }
check "homid with vf = pci:$vf2 and --vf pci:$vf1 pools both" wait_until "pool of 2" two
check "a client takes $vf2 by name" "$aisio" perf verify --seed 78 --offset 48M --size 4M "homi:$sock,mode=vf,vf=$vf2"
kill -TERM $hpid
wait $hpid
check "homid --sriov vfs=0 at the end" "$homid" --sriov pci:$pf,vfs=0
finish
