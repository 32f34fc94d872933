#!/bin/bash
# Inside the guest booted by vm_sriov (QEMU NVMe at 01:00.0 with 2 VFs in an
# nvme-subsys, shared namespace 1): homid provisions the VFs through the
# kernel's admin passthrough while the kernel keeps the PF; the user-space
# driver drives each VF through vfio on its own LBA range while the kernel
# writes its own range of the same namespace; every byte is checked from
# the other path too. Provisioning again changes nothing; a half-undone
# state is repaired.
# Usage: sriov_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
aisio=$build/aisio
homid=$build/homid
pf=0000:01:00.0
sys=/sys/bus/pci/devices/$pf
out=$(mktemp -d)
modprobe vfio-pci 2>/dev/null

dev=$(blkdev_of $pf 1) || { fail "namespace 1 of $pf"; finish; }
ng=$(ngdev_of "$dev") || { fail "generic device of $dev"; finish; }
pass "PF namespace is $dev ($ng)"

# Identify CNS 14h / 15h through the kernel path.
"$aisio" dev identify "$ng" >"$out/id" 2>&1
check "aisio dev identify shows Primary Controller Capabilities" grep -q "Primary Controller Capabilities" "$out/id"
check "aisio dev identify lists 2 secondary controllers" grep -q "Secondary Controller List (CNS 15h): 2 entries" "$out/id"
"$aisio" dev identify --json "$ng" >"$out/id.json" 2>&1
check "aisio dev identify --json has the secondaries" sh -c "grep -q '\"secondary\": \[{\"scid\"' '$out/id.json'"
check "aisio dev identify lists the subsystem's controllers (CNS 13h)" \
	grep -q "Controllers in the subsystem (CNS 13h): 0x0" "$out/id"
check "... and the controllers namespace 1 is attached to (CNS 12h)" \
	grep -q "Namespace 1 attached to controllers (CNS 12h): 0x0" "$out/id"
check "aisio dev identify --json has them too" \
	sh -c "grep -q '\"attached\": {\"controllers\": \[0.*\"namespaces\": \[{\"nsid\": 1, \"controllers\": \[0' '$out/id.json'"
"$homid" --sriov-status pci:$pf >"$out/st0" 2>&1
cat "$out/st0"
check "homid --sriov-status before: 0 of 2 VFs" grep -q "0 of 2 VFs enabled" "$out/st0"

# Bad requests: clear errors, nothing changed.
"$homid" --sriov pci:$pf,vfs=3 >"$out/bad" 2>&1
check "3 VFs refused (exit 1)" test $? = 1
check "... saying at most 2" grep -q "at most 2" "$out/bad"
"$homid" --sriov pci:$pf,vfs=2,vq=60 >"$out/bad" 2>&1
check "60 VQ per VF refused" test $? = 1
check "... naming the flexible resources" grep -q "flexible resources" "$out/bad"
check "homid --sriov with a bad key refused (exit 2)" sh -c "'$homid' --sriov pci:$pf,vfz=2; test \$? = 2"
check "homid --sriov on a missing function refused" not "$homid" --sriov pci:0000:7f:00.0,vfs=1
check "nothing enabled by the refused requests" test "$(cat $sys/sriov_numvfs)" = 0

# Provision.
"$homid" --sriov pci:$pf,vfs=2 >"$out/p1" 2>&1
rc=$?
cat "$out/p1"
check "homid --sriov pci:$pf,vfs=2" test $rc = 0
check "... changed something" sh -c "! grep -q '(0 changes)' '$out/p1'"
"$homid" --sriov-status pci:$pf >"$out/st1" 2>&1
cat "$out/st1"
check "2 of 2 VFs enabled" grep -q "2 of 2 VFs enabled" "$out/st1"
check "both secondaries online on vfio-pci" test "$(grep -c 'online .*driver vfio-pci' "$out/st1")" = 2
vf1=$(basename "$(readlink $sys/virtfn0)")
vf2=$(basename "$(readlink $sys/virtfn1)")
check "VFs $vf1 $vf2 bound to vfio-pci" test "$(driver_of "$vf1"):$(driver_of "$vf2")" = vfio-pci:vfio-pci
check "PF still on nvme and live" test "$(driver_of $pf):$(cat $sys/nvme/*/state)" = nvme:live

# Idempotent.
"$homid" --sriov pci:$pf,vfs=2 >"$out/p2" 2>&1
rc=$?
cat "$out/p2"
check "provisioning again succeeds" test $rc = 0
check "... and changes nothing" grep -q "(0 changes)" "$out/p2"

# Three initiators on one namespace, each on its own range: the user-space
# driver on each VF through vfio, the kernel on the PF. All at once.
"$aisio" perf verify --seed 11 --offset 0 --size 16M "$dev" >"$out/k" 2>&1 &
pk=$!
"$aisio" perf verify --seed 12 --offset 16M --size 16M --qdepth 16 pci:$vf1 >"$out/v1" 2>&1 &
p1=$!
"$aisio" perf verify --seed 13 --offset 32M --size 16M --qdepth 16 pci:$vf2 >"$out/v2" 2>&1 &
p2=$!
wait $pk; rk=$?
wait $p1; r1=$?
wait $p2; r2=$?
cat "$out/k" "$out/v1" "$out/v2"
check "kernel verifies its range on the PF ($dev)" test $rk = 0
check "user-space driver verifies its range on VF $vf1" test $r1 = 0
check "user-space driver verifies its range on VF $vf2" test $r2 = 0
# Each path reads what the others wrote.
check "kernel reads VF $vf1's stamps" "$aisio" perf verify --only read --seed 12 --offset 16M --size 16M "$dev"
check "kernel reads VF $vf2's stamps" "$aisio" perf verify --only read --seed 13 --offset 32M --size 16M "$dev"
check "VF $vf1 reads the kernel's stamps" "$aisio" perf verify --only read --seed 11 --offset 0 --size 16M pci:$vf1
check "VF $vf2 reads VF $vf1's stamps" "$aisio" perf verify --only read --seed 12 --offset 16M --size 16M pci:$vf2
check "VFs still on vfio-pci after use" test "$(driver_of "$vf1"):$(driver_of "$vf2")" = vfio-pci:vfio-pci

# A half-done state: VF 2 unbound and its secondary controller offline, as
# after a crash in the middle of provisioning. The next run repairs it.
# nvme-cli (in the testbed image) makes the states homid must repair.
check "nvme-cli in the guest" command -v nvme
ctrl=/dev/$(basename "$(ls -d $sys/nvme/nvme*)")
echo "$vf2" >/sys/bus/pci/drivers/vfio-pci/unbind
scid=$(awk '$1 == "VF" && $2 == 2 { print $4 }' "$out/st1")
check "secondary $scid taken offline by hand" sh -c "nvme virt-mgmt $ctrl -c $((scid)) -a 7 >/dev/null"
"$homid" --sriov-status pci:$pf >"$out/st2" 2>&1
cat "$out/st2"
"$homid" --sriov pci:$pf,vfs=2 >"$out/p3" 2>&1
rc=$?
cat "$out/p3"
check "provisioning repairs the half-done state" test $rc = 0
check "... by changing something" sh -c "! grep -q '(0 changes)' '$out/p3'"
"$homid" --sriov-status pci:$pf >"$out/st3" 2>&1
check "both secondaries online on vfio-pci again" test "$(grep -c 'online .*driver vfio-pci' "$out/st3")" = 2
check "repaired VF $vf2 reads its old stamps" "$aisio" perf verify --only read --seed 13 --offset 32M --size 16M pci:$vf2
check "and then idempotent again" sh -c "'$homid' --sriov pci:$pf,vfs=2 | grep -q '(0 changes)'"

# A VF in use (its vfio group open in a process) is neither released nor
# changed: a clear error, nothing touched.
"$aisio" perf run --runtime 30 --qdepth 4 pci:$vf1 >"$out/busy_run" 2>&1 &
busy=$!
grp=$(basename "$(readlink /sys/bus/pci/devices/$vf1/iommu_group)")
group_open() { ls -l /proc/$busy/fd 2>/dev/null | grep -q "/dev/vfio/$grp\$" && return 0
	kill -0 $busy 2>/dev/null || return 2; return 1; }
check "a process holds VF $vf1 (/dev/vfio/$grp)" wait_until "VF $vf1 open" group_open
"$homid" --sriov pci:$pf,vfs=0 >"$out/busy" 2>&1
rc=$?
cat "$out/busy"
check "releasing a VF in use refused" test $rc = 1
check "... saying it is in use" grep -q "is in use" "$out/busy"
check "changing the VF count under a user refused" not "$homid" --sriov pci:$pf,vfs=1
check "both VFs still enabled and online" sh -c "'$homid' --sriov-status pci:$pf | grep -c 'online .*driver vfio-pci' | grep -qx 2"
kill $busy 2>/dev/null
wait $busy

# Back to none.
check "homid --sriov vfs=0 disables the VFs" "$homid" --sriov pci:$pf,vfs=0
check "no VFs left" test "$(cat $sys/sriov_numvfs)" = 0
check "kernel still reads its range" "$aisio" perf verify --only read --seed 11 --offset 0 --size 16M "$dev"

# The primary holding flexible resources (allocated to it, effective after
# a function reset): homid releases them and resets the PF before enabling VFs.
check "primary takes 2 VQ flexible by hand" sh -c "nvme virt-mgmt $ctrl -c 0 -r 0 -a 1 -n 2 >/dev/null"
check "primary takes 1 VI flexible by hand" sh -c "nvme virt-mgmt $ctrl -c 0 -r 1 -a 1 -n 1 >/dev/null"
echo 1 >"$sys/reset"
wait_until "$ctrl live after reset" sh -c "test \"\$(cat $sys/nvme/$(basename "$ctrl")/state)\" = live"
"$homid" --sriov-status pci:$pf >"$out/st4" 2>&1
cat "$out/st4"
check "the primary holds 2 VQ" grep -q "2 allocated to the primary" "$out/st4"
"$homid" --sriov pci:$pf,vfs=2 >"$out/p4" 2>&1
rc=$?
cat "$out/p4"
check "provisioning with resources held by the primary" test $rc = 0
check "... released them" grep -q "primary flexible allocation" "$out/p4"
"$homid" --sriov-status pci:$pf >"$out/st5" 2>&1
check "the primary holds none afterwards" test "$(grep -c '0 allocated to the primary' "$out/st5")" = 2
check "both secondaries online on vfio-pci" test "$(grep -c 'online .*driver vfio-pci' "$out/st5")" = 2
check "VF $vf1 reads the kernel's stamps after the PF reset" "$aisio" perf verify --only read --seed 11 --offset 0 --size 16M pci:$vf1
check "the PF's kernel path works after its reset" "$aisio" perf verify --seed 14 --offset 48M --size 8M "$dev"
check "homid --sriov vfs=0 at the end" "$homid" --sriov pci:$pf,vfs=0

# Provision, use, release, 20 times: no resource left assigned, no VF stuck.
check "20 cycles of provision, use, release" "$(dirname "$0")/sriov_cycles.sh" "$build" 20 2 "$out/times"
spread() { sort -n | awk '{ v[NR] = $1 } END { printf "min %d median %d max %d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
echo "provision ms: $(awk '{ print $4 }' "$out/times" | spread);" \
	"to the first VF completion ms: $(awk '{ print $6 }' "$out/times" | spread)" \
	"($(wc -l <"$out/times") cycles)"
[ -n "${AISIO_RESULTS:-}" ] && cp "$out/times" "$AISIO_RESULTS/sriov_times" 2>/dev/null
finish
