#!/bin/bash
# Inside the guest booted by vm_sriov_ns (QEMU NVMe at 01:00.0 with 2 VFs in
# an nvme-subsys): namespace 1 shared and attached to the PF (the kernel's),
# namespace 2 shared but attached to no controller at start (detached=on: a
# namespace for the VFs alone), namespace 3 private to the PF. homid attaches
# and detaches namespaces of the VFs' secondary controllers (Namespace
# Attachment) while provisioning them. Checked three ways: nvme-cli's list of
# the controllers a namespace is attached to (Identify CNS 12h through the
# kernel, independent of homid), homid's status, and the active namespace
# list each VF itself reports to the user-space driver.
# Usage: sriov_ns_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
aisio=$build/aisio
homid=$build/homid
pf=0000:01:00.0
sys=/sys/bus/pci/devices/$pf
out=$(mktemp -d)
modprobe vfio-pci 2>/dev/null

dev=$(blkdev_of $pf 1) || { fail "namespace 1 of $pf"; finish; }
check "nvme-cli in the guest" command -v nvme
ctrl=/dev/$(ctrl_of $pf)
pass "PF is $ctrl, namespace 1 $dev"
check "the kernel stamps namespace 1" "$aisio" perf verify --seed 20 --offset 0 --size 8M "$dev"

# The controllers namespace NSID is attached to, as decimal IDs ("0 1 2 ").
ctrls_of() {
	nvme list-ctrl "$ctrl" -n "$1" | sed -n 's/^\[ *[0-9]*\]://p' |
		while read -r id; do printf '%d ' "$id"; done
}
has() { case " $1" in *" $2 "*) return 0 ;; esac; return 1; }
attached() { has "$(ctrls_of "$1")" "$2"; } # attached NSID CNTLID
vf_line() { "$homid" --sriov-status pci:$pf | awk -v n="$1" '$1 == "VF" && $2 == n'; }
ns_of() { vf_line "$1" | sed -n 's/.*  ns //p'; }
# The active namespace list VF N reports through its own admin queue ("1..2, 2 in all").
vf_sees() {
	"$aisio" dev identify "pci:$(basename "$(readlink $sys/virtfn$(($1 - 1)))"),nsid=99" 2>&1 |
		sed -n 's/.*is not active (active: \(.*\))$/\1/p'
}

echo "controllers of namespace 1: $(ctrls_of 1); 2: $(ctrls_of 2); 3: $(ctrls_of 3)"
check "CNS 12h: namespace 2 starts attached to no controller" test -z "$(ctrls_of 2)"
check "CNS 12h: namespace 3 is the PF's alone" test "$(ctrls_of 3)" = "0 "

# Namespaces that cannot be attached: refused before anything changes.
"$homid" --sriov pci:$pf,vfs=2,ns=2+3 >"$out/bad" 2>&1
rc=$?
cat "$out/bad"
check "ns=2+3 (3 is private) refused (exit $rc)" test $rc = 1
check "... saying namespace 3 is private" grep -q "namespace 3 is private" "$out/bad"
"$homid" --sriov pci:$pf,vfs=2,ns=1+7 >"$out/bad" 2>&1
rc=$?
cat "$out/bad"
check "ns=1+7 (no namespace 7) refused (exit $rc)" test $rc = 1
check "... naming the namespaces there are" grep -q "namespace 7 does not exist in the subsystem (its namespaces: 1, 2, 3)" "$out/bad"
check "ns=1+1 refused as bad usage (exit 2)" sh -c "'$homid' --sriov pci:$pf,vfs=2,ns=1+1; test \$? = 2"
check "no VF enabled by the refused requests" test "$(cat $sys/sriov_numvfs)" = 0
check "namespace 2 still attached to nothing" test -z "$(ctrls_of 2)"

# ns=1+2: namespace 2 attached to both VFs' secondaries (not to the PF).
"$homid" --sriov pci:$pf,vfs=2,ns=1+2 >"$out/p1" 2>&1
rc=$?
cat "$out/p1"
check "homid --sriov vfs=2,ns=1+2" test $rc = 0
"$homid" --sriov-status pci:$pf | tee "$out/st1"
s1=$(printf %d "$(vf_line 1 | awk '{ print $4 }')")
s2=$(printf %d "$(vf_line 2 | awk '{ print $4 }')")
vf1=$(basename "$(readlink $sys/virtfn0)")
vf2=$(basename "$(readlink $sys/virtfn1)")
pass "VF 1 $vf1 secondary $s1, VF 2 $vf2 secondary $s2"
echo "controllers of namespace 2: $(ctrls_of 2)"
check "CNS 12h: namespace 2 attached to secondaries $s1 and $s2 only" test "$(ctrls_of 2)" = "$s1 $s2 "
check "homid status: VF 1 lists namespace 2" sh -c "echo '$(ns_of 1)' | grep -q '\(^\|+\)2$'"
check "the PF's active namespaces lack 2 (nvme list-ns)" sh -c "! nvme list-ns $ctrl | grep -q ':0x2\$'"
check "VF 1 sees namespaces 1 and 2" test "$(vf_sees 1)" = "1..2, 2 in all"
check "VF 2 sees namespaces 1 and 2" test "$(vf_sees 2)" = "1..2, 2 in all"
check "VF $vf1 verifies on namespace 2" "$aisio" perf verify --seed 21 --offset 0 --size 8M pci:$vf1,nsid=2
check "VF $vf2 reads VF $vf1's stamps on namespace 2" \
	"$aisio" perf verify --only read --seed 21 --offset 0 --size 8M pci:$vf2,nsid=2
check "VF $vf2 reads the kernel's stamps on namespace 1" \
	"$aisio" perf verify --only read --seed 20 --offset 0 --size 8M pci:$vf2,nsid=1

# Idempotent.
"$homid" --sriov pci:$pf,vfs=2,ns=1+2 >"$out/p2" 2>&1
cat "$out/p2"
check "ns=1+2 again changes nothing" grep -q "(0 changes)" "$out/p2"

# Detached by hand (as after a crash, or someone else's command): repaired.
check "namespace 2 detached from secondary $s1 by hand" sh -c "nvme detach-ns $ctrl -n 2 -c $s1 >/dev/null"
check "VF 1 sees namespace 1 alone" test "$(vf_sees 1)" = "1..1, 1 in all"
"$homid" --sriov pci:$pf,vfs=2,ns=1+2 >"$out/p3" 2>&1
rc=$?
cat "$out/p3"
check "provisioning attaches it again" sh -c "test $rc = 0 && ! grep -q '(0 changes)' '$out/p3'"
check "CNS 12h: namespace 2 on $s1 and $s2 again" test "$(ctrls_of 2)" = "$s1 $s2 "
check "VF $vf1 reads its stamps on namespace 2 again" \
	"$aisio" perf verify --only read --seed 21 --offset 0 --size 8M pci:$vf1,nsid=2

# ns=1: namespace 2 detached from both VFs.
"$homid" --sriov pci:$pf,vfs=2,ns=1 >"$out/p4" 2>&1
rc=$?
cat "$out/p4"
check "homid --sriov vfs=2,ns=1" test $rc = 0
check "CNS 12h: namespace 2 attached to nothing" test -z "$(ctrls_of 2)"
check "VF 1 sees namespace 1 alone" test "$(vf_sees 1)" = "1..1, 1 in all"
check "VF 2 sees namespace 1 alone" test "$(vf_sees 2)" = "1..1, 1 in all"
"$aisio" perf verify --only read --seed 21 --offset 0 --size 8M pci:$vf1,nsid=2 >"$out/gone" 2>&1
check "VF $vf1 can no longer reach namespace 2" grep -q "namespace 2 is not active" "$out/gone"

# No ns=: the PF's shared namespaces; the private one and a detached one stay out.
"$homid" --sriov pci:$pf,vfs=2 >"$out/p5" 2>&1
rc=$?
cat "$out/p5"
check "homid --sriov vfs=2 (default namespaces)" test $rc = 0
check "CNS 12h: namespace 2 still attached to nothing" test -z "$(ctrls_of 2)"
check "CNS 12h: namespace 3 still the PF's alone" test "$(ctrls_of 3)" = "0 "
check "VF 1 sees namespace 1" test "$(vf_sees 1)" = "1..1, 1 in all"

# A VF in use loses no namespace: the detach is refused, nothing changes.
check "ns=1+2 again" "$homid" --sriov pci:$pf,vfs=2,ns=1+2
"$aisio" perf run --runtime 30 --qdepth 4 pci:$vf1,nsid=2 >"$out/busy_run" 2>&1 &
busy=$!
grp=$(basename "$(readlink /sys/bus/pci/devices/$vf1/iommu_group)")
group_open() { ls -l /proc/$busy/fd 2>/dev/null | grep -q "/dev/vfio/$grp\$" && return 0
	kill -0 $busy 2>/dev/null || return 2; return 1; }
check "a process holds VF $vf1 on namespace 2" wait_until "VF $vf1 open" group_open
"$homid" --sriov pci:$pf,vfs=2,ns=1 >"$out/busy" 2>&1
rc=$?
cat "$out/busy"
check "detaching namespace 2 from a VF in use refused (exit $rc)" test $rc = 1
check "... saying it is in use" grep -q "is in use" "$out/busy"
check "CNS 12h: namespace 2 still on $s1" attached 2 "$s1"
kill $busy 2>/dev/null
wait $busy

# Release: the secondaries hold no namespace afterwards; the PF keeps its own.
"$homid" --sriov pci:$pf,vfs=0 >"$out/p6" 2>&1
rc=$?
cat "$out/p6"
check "homid --sriov vfs=0" test $rc = 0
check "... detached namespace 2 from the secondaries" grep -q "namespace 2 detached from secondary controller(s) $(printf '%#x' "$s1"),$(printf '%#x' "$s2")" "$out/p6"
echo "controllers of namespace 1: $(ctrls_of 1); 2: $(ctrls_of 2); 3: $(ctrls_of 3)"
check "CNS 12h: namespaces 1 and 3 on the PF alone, 2 on nothing" \
	test "$(ctrls_of 1)/$(ctrls_of 2)/$(ctrls_of 3)" = "0 //0 "
check "the kernel reads its stamps on namespace 1" \
	"$aisio" perf verify --only read --seed 20 --offset 0 --size 8M "$dev"
# provisioning after the release attaches again; the namespace kept its data
check "provisioning after the release (ns=2)" "$homid" --sriov pci:$pf,vfs=2,ns=2
check "CNS 12h: namespace 2 on $s1 and $s2" test "$(ctrls_of 2)" = "$s1 $s2 "
check "VF $vf2 reads VF $vf1's stamps on namespace 2" \
	"$aisio" perf verify --only read --seed 21 --offset 0 --size 8M pci:$vf2,nsid=2
check "homid --sriov vfs=0 at the end" "$homid" --sriov pci:$pf,vfs=0
check "CNS 12h: namespace 2 attached to nothing at the end" test -z "$(ctrls_of 2)"
finish
