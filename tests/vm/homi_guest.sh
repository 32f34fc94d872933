#!/bin/bash
# Inside the guest booted by vm_homi: homid owns QEMU's NVMe controller
# (01:00.0, 512 B LBAs) through vfio and serves clients through homi::
# 4 clients at once (2 direct, 2 mediated) verify their own LBA ranges;
# a direct and a mediated client SIGKILLed mid-I/O while another verifies,
# and every queue ID and pinned page comes back; a client under another uid (nobody) with a
# mediated grant of 2048 LBAs has its writes outside the grant refused, and
# the bytes there stay unchanged. Then the controller is back on nvme, and
# homid on it through uio refuses clients with a clear message.
# Usage: homi_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
. "$(dirname "$0")/homi_lib.sh"
aisio=$build/aisio homid=$build/homid grant=$build/tests/vm/homi_grant
bdf=0000:01:00.0 sock=/tmp/homid.sock
G=131072 # nobody's grant: LBAs [G, G + 2048)
cd /tmp || exit 1

cat >/tmp/homid.conf <<EOF
[uid:65534]
lba_first = $G
lba_count = 2048
access = rw
direct = no
EOF
homid_start "homid starts on pci:$bdf,drv=vfio" /tmp/homid.log --socket $sock \
	--config /tmp/homid.conf --ctrl pci:$bdf,drv=vfio --log-level info
status
check "$bdf is bound to vfio-pci" test "$(driver_of $bdf)" = vfio-pci
check "status: a pci controller with direct queues possible" \
	sh -c "'$aisio' homi status --json --socket $sock | grep -q '\"kind\": \"pci\", .*\"direct_ok\": true'"
for mode in direct mediated; do
	check "aisio dev identify through homi: ($mode)" \
		sh -c "'$aisio' dev identify homi:$sock,mode=$mode | grep -q 'QEMU NVMe Ctrl'"
done

# 4 clients at once, each on its own 8 MiB.
pids=()
for i in 0 1 2 3; do
	mode=direct
	[ $((i % 2)) = 1 ] && mode=mediated
	"$aisio" perf verify --iosize 16k --qdepth 16 --offset $((i * 8))M --size 8M \
		"homi:$sock,mode=$mode" >/tmp/client$i.out 2>&1 &
	pids+=($!)
done
for i in 0 1 2 3; do
	wait "${pids[$i]}"
	rc=$?
	cat /tmp/client$i.out
	check "client $i (mode $([ $((i % 2)) = 1 ] && echo mediated || echo direct)) verify exit $rc" test $rc = 0
	check "client $i: 0 mismatches" grep -q ' 0 mismatches' /tmp/client$i.out
done
check "every queue ID back, no client left" wait_until "queue IDs back" idle
# Registered client memory is pinned by its IOMMU mapping and counted in
# homid's VmLck: once every client is gone it must be back where it was.
vmlck() { awk '/^VmLck:/ { print $2 }' /proc/$hpid/status; }
# lck_back: homid's locked memory as at the start (waited for, as the other counts are)
lck_back() { test "$(vmlck)" = "$lck0"; }
lck0=$(vmlck)
echo "homid VmLck with no client: $lck0 kB"

# SIGKILL mid-I/O, a direct and a mediated client, while another verifies.
"$aisio" perf verify --iosize 16k --qdepth 8 --offset 32M --size 16M \
	"homi:$sock,mode=mediated" >/tmp/verifier.out 2>&1 &
vpid=$!
for mode in direct mediated; do
	"$aisio" perf run --runtime 120 --iosize 4k --qdepth 16 --iopattern randrw --offset 48M \
		--size 8M "homi:$sock,mode=$mode" >/tmp/victim.out 2>&1 &
	p=$!
	busy() {
		kill -0 $p 2>/dev/null || { echo "victim exited:"; cat /tmp/victim.out; return 2; } >&2
		client_of $p | grep -q '"queues": [1-9]'
	}
	check "$mode victim holds a queue" wait_until "$mode victim's queue" busy
	sleep 1
	before=$(client_of $p)
	echo "victim before SIGKILL: $before"
	check "$mode victim's memory pinned in homid ($(vmlck) kB, idle $lck0 kB)" \
		test "$(vmlck)" -gt $lck0
	kill -9 $p
	wait $p 2>/dev/null
	check "$mode victim (pid $p) reclaimed" wait_until "reclaim of pid $p" client_gone $p
done
wait $vpid
rc=$?
cat /tmp/verifier.out
check "verifier beside the kills exit $rc, 0 mismatches" \
	sh -c "test $rc = 0 && grep -q ' 0 mismatches' /tmp/verifier.out"
check "after the kills: every queue ID back" wait_until "queue IDs back" idle
wait_until "after the kills: pinned memory back" lck_back
check "after the kills: homid's pinned memory back ($(vmlck) kB, was $lck0 kB)" lck_back
check "homid alive after the kills" kill -0 $hpid

# A mediated grant: writes outside it refused, the bytes there unchanged.
root=homi:$sock nobody=homi:$sock,mode=mediated
check "root fills LBAs before the grant" "$grant" fill "$root" $((G - 16)) 32 0xa5
check "root fills LBAs at the grant's end" "$grant" fill "$root" $((G + 2032)) 32 0xa5
check "nobody: direct mode refused" not "$grant" --as 65534 check "homi:$sock,mode=direct" $G 1 0
check "nobody: write across the grant's start refused" \
	"$grant" --as 65534 refused "$nobody" $((G - 8)) 16 0x5a
check "nobody: write across the grant's end refused" \
	"$grant" --as 65534 refused "$nobody" $((G + 2040)) 16 0x5a
check "nobody: write past the grant refused" \
	"$grant" --as 65534 refused "$nobody" $((G + 2048)) 8 0x5a
check "nobody: write inside the grant done" "$grant" --as 65534 fill "$nobody" $((G + 100)) 8 0x5a
check "bytes around the grant's start unchanged" "$grant" check "$root" $((G - 16)) 32 0xa5
check "bytes around the grant's end unchanged" "$grant" check "$root" $((G + 2032)) 32 0xa5
check "nobody's write inside the grant landed" "$grant" check "$root" $((G + 100)) 8 0x5a
check "after the grant checks: every queue ID back" wait_until "queue IDs back" idle
wait_until "after the grant checks: pinned memory back" lck_back
check "after the grant checks: homid's pinned memory back ($(vmlck) kB, was $lck0 kB)" lck_back

kill -TERM $hpid
wait $hpid
rc=$?
check "homid exits cleanly on SIGTERM (exit $rc)" test $rc = 0
back_on_nvme() { test "$(driver_of $bdf)" = nvme; }
check "$bdf back on nvme" wait_until "$bdf back on nvme" back_on_nvme
tail -n 40 /tmp/homid.log

# uio: homid owns the controller but has no way to map a client's memory for
# it; clients get a clear refusal that names drv=vfio, and nothing is held.
"$homid" --foreground --socket $sock --ctrl pci:$bdf,drv=uio 2>/tmp/homid-uio.log &
hpid=$!
check "homid starts on pci:$bdf,drv=uio" wait_until "homid serving $sock" up
check "$bdf is bound to uio_pci_generic" test "$(driver_of $bdf)" = uio_pci_generic
for mode in direct mediated; do
	"$aisio" perf run --runtime 1 "homi:$sock,mode=$mode" >/tmp/uio-$mode.out 2>&1
	rc=$?
	cat /tmp/uio-$mode.out
	check "uio, $mode: refused (exit $rc)" test $rc != 0
	check "uio, $mode: the refusal names drv=vfio" grep -q 'drv=vfio' /tmp/uio-$mode.out
done
check "uio: no queue ID held, no client left" wait_until "queue IDs back" idle
kill -TERM $hpid
wait $hpid
rc=$?
check "homid on uio exits cleanly (exit $rc)" test $rc = 0
cat /tmp/homid-uio.log
check "$bdf back on nvme after uio" wait_until "$bdf back on nvme" back_on_nvme
finish
