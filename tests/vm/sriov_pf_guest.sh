#!/bin/bash
# Inside the guest booted by vm_sriov_pf (QEMU NVMe at 01:00.0 with 2 VFs in
# an nvme-subsys, shared namespace 1): homid owns the physical function
# through vfio and provisions the VFs through its own admin queue (no
# /dev/nvme0 anywhere), opens them with the VF token it set on the PF and
# hands them out whole. At the same time a client on homid's queues of the
# PF writes and verifies the PF's namespace. The conformance suite through a
# VF; then cycles of: clients take both VFs and verify data through them,
# exit (FLR), homid releases the VFs (SIGHUP, vfs=0) and
# provisions them again (SIGHUP, vfs=2): no resource left assigned, no VF
# stuck, homid's descriptors as after the first cycle. Clear refusals:
# vfio-pci without enable_sriov, a VF opened without the token, a release
# under a client, the kernel-passthrough mode on a PF homid owns, and homid
# taking a PF whose VFs the nvme driver enabled.
# Usage: sriov_pf_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
aisio=$build/aisio homid=$build/homid loop=$build/tests/vm/homi_loop
confsuite=$build/tests/model/conformance
pf=0000:01:00.0 sys=/sys/bus/pci/devices/0000:01:00.0 sock=/tmp/homid.sock
param=/sys/module/vfio_pci/parameters/enable_sriov
out=$(mktemp -d)
modprobe vfio-pci 2>/dev/null
cd /tmp || exit 1

dev=$(blkdev_of $pf 1) || { fail "namespace 1 of $pf"; finish; }
# homid's configuration: the PF as its controller, its VFs from the sriov line
conf() {
	printf '[homid]\nsocket = %s\ncontroller = pci:%s,drv=vfio\nsriov = pci:%s,vfs=%s\nvf = sriov\n' \
		$sock $pf $pf "$1" >"$out/conf"
}
back_on_nvme() { test "$(driver_of $pf)" = nvme; }

# The primary holding flexible resources (effective after a function reset):
# homid must release them and reset the PF itself, through vfio.
check "nvme-cli in the guest" command -v nvme
ctrl=/dev/$(ctrl_of $pf)
check "primary takes 2 VQ flexible by hand" sh -c "nvme virt-mgmt $ctrl -c 0 -r 0 -a 1 -n 2 >/dev/null"
check "primary takes 1 VI flexible by hand" sh -c "nvme virt-mgmt $ctrl -c 0 -r 1 -a 1 -n 1 >/dev/null"
echo 1 >"$sys/reset"
wait_until "$ctrl live after reset" sh -c "test \"\$(cat $sys/nvme/$(basename "$ctrl")/state)\" = live"

# vfio-pci as loaded by default: its PFs may not enable VFs. homid says how to fix it.
echo 0 >$param
conf 2
check "--check-config accepts the PF as controller and sriov line" \
	"$homid" --config "$out/conf" --check-config
timeout 120 "$homid" --foreground --config "$out/conf" >"$out/e1" 2>&1
rc=$?
cat "$out/e1"
check "without vfio-pci enable_sriov homid refuses (exit $rc)" test $rc = 1
check "... naming the parameter and how to set it" \
	grep -q "echo 1 > /sys/module/vfio_pci/parameters/enable_sriov" "$out/e1"
check "... after releasing the primary's flexible resources" \
	grep -q "virt-mgmt primary flexible allocation" "$out/e1"
check "... with a function reset through vfio" grep -q "function reset; controller up again" "$out/e1"
check "... and gives the PF back to nvme" wait_until "PF on nvme" back_on_nvme
check "no VF enabled" test "$(cat $sys/sriov_numvfs)" = 0

echo 1 >$param
"$homid" --foreground --config "$out/conf" 2>"$out/homid.log" &
hpid=$!
status() { timeout 20 "$aisio" homi status --socket $sock; }
up() {
	kill -0 $hpid 2>/dev/null || { echo "homid exited" >&2; return 2; }
	status >/dev/null 2>&1
}
if ! wait_until "homid serving $sock" up; then
	cat "$out/homid.log"
	fail "homid starts owning $pf with 2 VFs"
	finish
fi
vf1=$(basename "$(readlink $sys/virtfn0)")
vf2=$(basename "$(readlink $sys/virtfn1)")
status | tee "$out/st0"
check "the PF is bound to vfio-pci" test "$(driver_of $pf)" = vfio-pci
check "2 VFs enabled ($vf1 $vf2), on vfio-pci" \
	test "$(cat $sys/sriov_numvfs):$(driver_of "$vf1"):$(driver_of "$vf2")" = 2:vfio-pci:vfio-pci
check "status: the PF's SR-IOV state through homid's admin queue" \
	grep -q "$pf (homid's admin queue, cntlid .*): 2 of 2 VFs enabled" "$out/st0"
check "status: both secondaries online on vfio-pci" \
	test "$(grep -c 'VF [12] .* online .*driver vfio-pci' "$out/st0")" = 2
check "status: both VFs free in the pool, with their resources" \
	test "$(grep -c ' free (PF .*online, [0-9]* VQ, [0-9]* VI' "$out/st0")" = 2
check "status: the primary holds no flexible resource" \
	test "$(grep -c '0 allocated to the primary' "$out/st0")" = 2
grep -E 'virt-mgmt|namespace|VF|token|reset' "$out/homid.log" | tail -n 12

# Refusals while homid owns the PF.
"$aisio" dev identify "pci:$vf1" >"$out/notok" 2>&1
rc=$?
cat "$out/notok"
check "a VF opened without homid's VF token is refused (exit $rc)" test $rc != 0
check "... the error names the VF token" grep -q "VF token" "$out/notok"
"$homid" --sriov pci:$pf,vfs=2 >"$out/kmode" 2>&1
rc=$?
cat "$out/kmode"
check "kernel-passthrough provisioning of homid's PF refused (exit $rc)" test $rc = 1
check "... pointing at homid --ctrl" grep -q "bound to vfio-pci.*homid --ctrl pci:$pf" "$out/kmode"

# The conformance suite through a VF (the whole controller is the client's;
# it overwrites the whole shared namespace, so it runs before any stamp).
"$confsuite" --max-pages 1024 "homi:$sock,mode=vf" >"$out/conf.out" 2>&1
rc=$?
cat "$out/conf.out"
check "the conformance suite through a VF from homid's pool (exit $rc)" test $rc = 0

# Stamps through homid's queues of the PF, for a VF to read later.
check "a client of the PF stamps 8M at 48M" \
	"$aisio" perf verify --seed 21 --offset 48M --size 8M "homi:$sock,mode=direct"

# A client on homid's queues of the PF, the whole time: write and verify stamps.
"$loop" "homi:$sock,mode=direct" 0 8192 600 >"$out/pfc" 2>&1 &
pfc=$!
pf_client() { status | grep -Eq "^  $pfc +[0-9]+ +direct "; }
check "a client on the PF's queues (pid $pfc)" wait_until "PF client attached" pf_client
pf_client_named() { status | grep -Eq "^  $pfc +[0-9]+ +direct +$pf "; }
check "status names the client's controller in full ($pf)" pf_client_named

fds1=
now_ms() { echo $(($(date +%s%N) / 1000000)); }
: >"$out/times"
taken2() { test "$(status | grep -c ' taken pid ')" = 2; }
free2() { test "$(status | grep -c ' free (PF .*online')" = 2; }
released() {
	kill -0 $hpid 2>/dev/null || return 2
	status >"$out/rel"
	grep -q "$pf (homid's admin queue.*): 0 of 2 VFs enabled" "$out/rel" &&
		! grep -q ' free (PF ' "$out/rel"
}
for cycle in 1 2 3; do
	"$loop" "homi:$sock,mode=vf" 16384 8192 600 >"$out/c1" 2>&1 &
	p1=$!
	"$loop" "homi:$sock,mode=vf" 32768 8192 600 >"$out/c2" 2>&1 &
	p2=$!
	check "cycle $cycle: both VFs taken" wait_until "both VFs taken" taken2
	status | grep ' taken pid ' | tee "$out/st1"
	check "cycle $cycle: status names each owner" \
		sh -c "grep -q 'taken pid $p1 ' '$out/st1' && grep -q 'taken pid $p2 ' '$out/st1'"
	if [ $cycle = 2 ]; then
		# releasing the VFs under their clients: refused, nothing changes
		conf 0
		kill -HUP $hpid
		refused() { grep -q "SIGHUP: sriov = .*vfs=0 not applied: VF .* is taken" "$out/homid.log"; }
		check "cycle $cycle: SIGHUP vfs=0 under clients refused" wait_until "refusal logged" refused
		check "cycle $cycle: ... both VFs still enabled and taken" taken2
	fi
	kill -TERM $p1 $p2
	wait $p1
	rc=$?
	cat "$out/c1"
	check "cycle $cycle: client 1 verified through its VF (exit $rc, 0 mismatches)" \
		sh -c "test $rc = 0 && grep -q ' 0 mismatches' '$out/c1'"
	wait $p2
	rc=$?
	cat "$out/c2"
	check "cycle $cycle: client 2 verified through its VF (exit $rc, 0 mismatches)" \
		sh -c "test $rc = 0 && grep -q ' 0 mismatches' '$out/c2'"
	check "cycle $cycle: both VFs reset and back in the pool" wait_until "both VFs free" free2
	# release, then provision again, through homid's admin queue
	conf 0
	kill -HUP $hpid
	check "cycle $cycle: SIGHUP vfs=0 releases both VFs" wait_until "VFs released" released
	cat "$out/rel"
	check "cycle $cycle: no VQ or VI left with a secondary, none online" \
		sh -c "grep -q 'VQ flexible [0-9]*: 0 assigned' '$out/rel' &&
			grep -q 'VI flexible [0-9]*: 0 assigned' '$out/rel' && ! grep -q ' online ' '$out/rel'"
	check "cycle $cycle: the PF has no VF left" test "$(cat $sys/sriov_numvfs)" = 0
	conf 2
	t0=$(now_ms)
	kill -HUP $hpid
	check "cycle $cycle: SIGHUP vfs=2 provisions both again" wait_until "VFs back" free2
	t1=$(now_ms)
	check "cycle $cycle: Identify through a VF from the pool" \
		sh -c "'$aisio' dev identify 'homi:$sock,mode=vf' >/dev/null"
	t2=$(now_ms)
	echo "cycle $cycle provision_ms $((t1 - t0)) first_completion_ms $((t2 - t0))" >>"$out/times"
	if [ -z "$fds1" ]; then
		wait_until "the VF back from Identify" free2
		fds1=$(fd_count_settled $hpid)
	fi
done
status | tee "$out/st2"
resets_ok() {
	awk '/ free \(PF / { for (i = 1; i <= NF; i++) { if ($i == "taken") t = $(i + 1);
		if ($i == "reset(s),") r = $(i - 1); if ($i == "failed") f = $(i - 1) }
		if (t == r && f == 0) n++ } END { exit n == 2 ? 0 : 1 }' "$out/st2"
}
check "every take ended in a successful reset" resets_ok
check_fds "homid's descriptors after 3 cycles as after the first ($fds1)" $hpid "$fds1"
check "the PF client is still on its queues" pf_client
# SIGHUP to both VFs pooled (status polled every 0.1 s), and to the first
# completion (Identify) on a VF a client took from the pool
spread() { sort -n | awk '{ v[NR] = $1 } END { printf "min %d median %d max %d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
echo "PF under homid: provision ms: $(awk '{ print $4 }' "$out/times" | spread);" \
	"to the first VF completion ms: $(awk '{ print $6 }' "$out/times" | spread)" \
	"($(wc -l <"$out/times") cycles)"
[ -n "${AISIO_RESULTS:-}" ] && cp "$out/times" "$AISIO_RESULTS/sriov_pf_times" 2>/dev/null
kill -TERM $pfc
wait $pfc
rc=$?
cat "$out/pfc"
check "the PF client verified through homid's PF queues meanwhile (exit $rc, 0 mismatches)" \
	sh -c "test $rc = 0 && grep -q ' 0 mismatches' '$out/pfc'"
check "a VF reads the PF client's stamps" \
	"$aisio" perf verify --only read --seed 21 --offset 48M --size 8M "homi:$sock,mode=vf"
check "a VF writes and verifies stamps at 32M" \
	"$aisio" perf verify --seed 77 --offset 32M --size 8M "homi:$sock,mode=vf"
kill -TERM $hpid
wait $hpid
rc=$?
check "homid exits cleanly (exit $rc)" test $rc = 0
grep -E 'virt-mgmt|VF|SIGHUP|provisioned' "$out/homid.log" | tail -n 16
check "the PF goes back to nvme" wait_until "PF on nvme" back_on_nvme
check "... without VFs" test "$(cat $sys/sriov_numvfs)" = 0
dev=$(blkdev_of $pf 1) || fail "namespace 1 of $pf after homid"
check "the kernel reads what the VF wrote" \
	"$aisio" perf verify --only read --seed 77 --offset 32M --size 8M "$dev"

# VFs the nvme driver enabled: homid does not take the PF from under them.
check "kernel-passthrough provisioning of 1 VF" "$homid" --sriov pci:$pf,vfs=1 --log-level warning
timeout 60 "$homid" --foreground --config "$out/conf" >"$out/e2" 2>&1
rc=$?
cat "$out/e2"
check "homid refuses a PF whose VFs nvme enabled (exit $rc)" test $rc = 1
check "... saying so" grep -q "still bound to nvme, which has 1 VFs of it enabled" "$out/e2"
check "... and leaves the PF on nvme" test "$(driver_of $pf)" = nvme
check "homid --sriov vfs=0 at the end" "$homid" --sriov pci:$pf,vfs=0 --log-level warning
finish
