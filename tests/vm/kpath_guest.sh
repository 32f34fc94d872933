#!/bin/bash
# Inside the guest booted by vm_kpath: aisio's kernel paths on QEMU's NVMe
# namespace, psync and io_uring on /dev/nvme0n1, uring_cmd on /dev/ng0n1:
# integrity (perf verify), perf run JSON, dev list/identify, passthrough
# Identify against nvme-cli's id-ctrl, every error path, and last the
# controller disappearing under an open device.
# Usage: kpath_guest.sh BUILD_DIR
build=$1
aisio=$build/aisio
. "$(dirname "$0")/guest_lib.sh"
bdf=0000:01:00.0

blk=$(blkdev_of $bdf) || { fail "no namespace on $bdf"; finish; }
ng=$(ngdev_of "$blk") || { fail "no generic device beside $blk"; finish; }
ctrl=/dev/$(ctrl_of $bdf)
check "$ng exists" test -c "$ng"

"$aisio" dev list >/tmp/list 2>&1
check "dev list shows $blk" grep -q "$blk" /tmp/list
check "dev list shows $ng" grep -q "$ng" /tmp/list
check "dev list shows $bdf with driver nvme" grep -q "$bdf.*driver: nvme" /tmp/list

for spec in "psync $blk" "io_uring $blk" "uring_cmd $ng"; do
	set -- $spec
	be=$1 uri=$2
	check "verify $be $uri" sh -c "'$aisio' perf verify --be $be --size 32M '$uri' | grep -q ' 0 mismatches'"
	check "verify $be $uri 4k I/O, qdepth 4" sh -c "'$aisio' perf verify --be $be --iosize 4k --qdepth 4 --offset 32M --size 4M '$uri' | grep -q ' 0 mismatches'"
	check "perf run --json $be $uri" sh -c "'$aisio' perf run --json --runtime 1 --be $be --iopattern randrw '$uri' | python3 -c 'import json,sys; t=json.load(sys.stdin)[\"total\"]; assert t[\"iops\"] > 0 and t[\"failed\"] == 0, t'"
	check "LBA beyond the end $be" sh -c "out=\$('$aisio' perf verify --be $be --offset 1T '$uri' 2>&1); [ \$? -ne 0 ] && echo \"\$out\" | grep -q 'LBA beyond the end'"
	check "error paths $be" "$build/tests/vm/kpath_nvme" "$uri" $be errors
	check "NVM commands $be" "$build/tests/vm/kpath_nvme" "$uri" $be commands
	# Identify through this path matches nvme-cli's id-ctrl on the controller.
	"$aisio" dev identify --json --be $be "$uri" >/tmp/id.json 2>/tmp/id.err
	nvme id-ctrl "$ctrl" -o json >/tmp/nvme.json 2>/tmp/nvme.err
	check "identify $be $uri matches nvme id-ctrl" python3 - /tmp/id.json /tmp/nvme.json <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["ctrl"]
n = json.load(open(sys.argv[2]))
bad = []
for k in ("vid", "ssvid", "sn", "mn", "fr", "rab", "cmic", "mdts", "cntlid", "ver", "oacs",
          "acl", "aerl", "frmw", "lpa", "elpe", "npss", "sqes", "cqes", "maxcmd", "nn", "oncs",
          "vwc", "sgls", "subnqn"):
    if k not in n:
        continue
    x, y = a[k], n[k]
    if isinstance(y, str):
        x, y = x.strip(), y.strip()
    if x != y:
        bad.append("%s: aisio %r, nvme-cli %r" % (k, x, y))
print("compared with nvme-cli:", "; ".join(bad) if bad else "all fields equal")
sys.exit(1 if bad else 0)
PY
done
# IOPOLL for real: the guest boots with nvme.poll_queues, so an IOPOLL ring's
# O_DIRECT commands complete by polling, without I/O queue interrupts.
check "IOPOLL ring on $blk: polled, data right" "$build/tests/host/test_uring_opts" iopoll "$blk"

# Stamps written through one path read back through the others.
check "write via uring_cmd" "$aisio" perf verify --be uring_cmd --only write --seed 42 --size 8M "$ng"
check "read via psync" sh -c "'$aisio' perf verify --be psync --only read --seed 42 --size 8M '$blk' | grep -q ' 0 mismatches'"
check "read via io_uring" sh -c "'$aisio' perf verify --be io_uring --only read --seed 42 --size 8M '$blk' | grep -q ' 0 mismatches'"

# A re-probe while the old namespace is still open, as an io_uring ring torn
# down in the background leaves it: the kernel gives the namespace that comes
# back the next free instance (nvme0n2 for NSID 1), and blkdev_of must still
# find it, by NSID, with its generic device beside it.
# The controller comes back without poll queues this time: the IOPOLL test
# must then fail (it cannot pass without polling).
pq=/sys/module/nvme/parameters/poll_queues
npq=$(cat $pq)
exec 3<"$blk"
echo $bdf >/sys/bus/pci/drivers/nvme/unbind
echo 0 >$pq
echo $bdf >/sys/bus/pci/drivers/nvme/bind
b=$(blkdev_of $bdf) && g=$(ngdev_of "$b")
check "namespace 1 found after a re-probe with the old one open ($b, $g)" test -b "$b" -a -c "$g"
check "$b (NSID $(cat "/sys/block/${b#/dev/}/nsid" 2>/dev/null)) reads what psync wrote" \
	sh -c "'$aisio' perf verify --be psync --only read --seed 42 --size 8M '$b' | grep -q ' 0 mismatches'"
check "IOPOLL test fails on $b without poll queues" not "$build/tests/host/test_uring_opts" iopoll "$b"
echo "$npq" >$pq
exec 3<&-

# Last: the controller goes away under each path (and comes back). After a
# re-probe the kernel may name it differently (nvme1, or nvme0n2 while the
# old namespace is still held open): blkdev_of looks it up by NSID.
for be in psync io_uring uring_cmd; do
	blk=$(blkdev_of $bdf) || { fail "namespace of $bdf did not come back"; break; }
	uri=$blk
	if [ $be = uring_cmd ]; then
		uri=$(ngdev_of "$blk") || { fail "no generic device beside $blk"; break; }
	fi
	check "device disappears under $be" "$build/tests/vm/kpath_nvme" "$uri" $be gone $bdf
done
finish
