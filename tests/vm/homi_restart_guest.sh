#!/bin/bash
# Inside the guest booted by vm_homi_restart: homid owns QEMU's NVMe
# controller (01:00.0) through vfio. The conformance suite runs through
# homi: for a direct and a mediated client. Then homid is restarted in place (SIGUSR2: it
# executes itself again and takes the running controller over) three times
# while a direct client writes and verifies stamps in a loop on one
# connection: the client never stops, 0 mismatches, homid's pid stays.
# A mediated client beside it is dropped at the first restart with a clear
# error (its data path is homid) and a new one works afterwards. After the
# restarts, queues are created and deleted through the taken-over admin
# queue, every queue ID comes back, and SIGTERM gives the controller back
# to nvme.
# Usage: homi_restart_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
. "$(dirname "$0")/homi_lib.sh"
aisio=$build/aisio homid=$build/homid loop=$build/tests/vm/homi_loop
bdf=0000:01:00.0 sock=/tmp/homid.sock
cd /tmp || exit 1

homid_start "homid starts on pci:$bdf,drv=vfio" /tmp/homid.log --socket $sock \
	--ctrl pci:$bdf,drv=vfio --log-level info
check "$bdf is bound to vfio-pci" test "$(driver_of $bdf)" = vfio-pci

# The conformance suite through homi: (what needs the whole controller is
# skipped or must be refused by homid). QEMU maps at most 1024 pages per
# command (conformance_guest.sh says why). Transfers up to 4 MiB take
# chained PRP lists, which the mediator copies and checks too.
for spec in direct:PASS mediated:PASS; do
	mode=${spec%:*} want=${spec#*:}
	"$build/tests/model/conformance" --max-pages 1024 "homi:$sock,mode=$mode" >/tmp/conf-$mode.out 2>&1
	rc=$?
	cat /tmp/conf-$mode.out
	check "conformance through homi: ($mode): exit $rc" test $rc = 0
	check "conformance ($mode): prp-chained-lists $want" grep -q ": $want prp-chained-lists" /tmp/conf-$mode.out
	check "conformance ($mode): dsm-deallocate passes" grep -q ": PASS dsm-deallocate" /tmp/conf-$mode.out
done

# the direct client: write-and-verify rounds over 4 MiB on one connection until SIGTERM
"$loop" "homi:$sock" 0 8192 600 >/tmp/loop.out 2>&1 &
lpid=$!
"$aisio" perf run --runtime 60 --iosize 4k --qdepth 8 --iopattern randread --offset 64M \
	--size 8M "homi:$sock,mode=mediated" >/tmp/mediated.out 2>&1 &
mpid=$!
busy() {
	kill -0 $lpid 2>/dev/null || { echo "direct client exited:"; cat /tmp/loop.out; return 2; } >&2
	client_of $lpid | grep -q '"queues": [1-9]' && client_of $mpid | grep -q '"queues": [1-9]'
}
check "direct and mediated clients hold queues" wait_until "clients' queues" busy
sleep 2
for n in 1 2 3; do
	kill -USR2 $hpid
	sleep 0.5
	if ! wait_until "homid after restart $n" up; then
		fail "restart $n: homid serving again"
		for t in /proc/$hpid/task/*; do
			echo "$t $(cat $t/comm) wchan $(cat $t/wchan) $(grep State $t/status)"
			cat $t/stack
		done
		cat /proc/$hpid/cmdline | tr '\0' ' '; echo
		cat /tmp/homid.log
		break
	fi
	pass "restart $n: homid serving again"
	check "restart $n: same homid process ($hpid)" kill -0 $hpid
	check "restart $n: the direct client (pid $lpid) kept with its queue" \
		sh -c "'$aisio' homi status --json --socket $sock | tr '{' '\n' | grep '\"pid\": $lpid,' | grep -q '\"queues\": 1'"
	check "restart $n: the direct client still running" kill -0 $lpid
	sleep 3
done
wait $mpid
rc=$?
cat /tmp/mediated.out
check "mediated client stopped by the restart (exit $rc)" test $rc != 0
check "mediated client told homid went away" grep -q 'homid went away' /tmp/mediated.out
kill -TERM $lpid
wait $lpid
rc=$?
cat /tmp/loop.out
check "direct client through 3 restarts: exit $rc" test $rc = 0
check "direct client: 0 mismatches" grep -q ' 0 mismatches' /tmp/loop.out
check "direct client: many rounds" sh -c "grep -Eq 'homi_loop: ([2-9]|[1-9][0-9]+) rounds' /tmp/loop.out"

# after the restarts: the taken-over admin queue deletes and creates queues
check "direct client's queue deleted and its queue ID back" wait_until "queue IDs back" idle
for mode in direct mediated; do
	"$aisio" perf verify --iosize 16k --qdepth 8 --size 8M --offset $([ $mode = direct ] && echo 16M || echo 32M) \
		"homi:$sock,mode=$mode" >/tmp/after-$mode.out 2>&1
	rc=$?
	cat /tmp/after-$mode.out
	check "after the restarts: a new $mode client verifies (exit $rc)" \
		sh -c "test $rc = 0 && grep -q ' 0 mismatches' /tmp/after-$mode.out"
done
check "aisio dev identify through homi: after the restarts" \
	sh -c "'$aisio' dev identify homi:$sock | grep -q 'QEMU NVMe Ctrl'"
check "every queue ID back, no client left" wait_until "queue IDs back" idle
fds=$(fd_count_settled $hpid)
kill -USR2 $hpid
sleep 0.5
check "idle restart: homid serving again" wait_until "homid after an idle restart" up
check_fds "idle restart: descriptors as before ($fds)" $hpid "$fds"

kill -TERM $hpid
wait $hpid
rc=$?
check "homid exits cleanly on SIGTERM after restarts (exit $rc)" test $rc = 0
back_on_nvme() { test "$(driver_of $bdf)" = nvme; }
check "$bdf back on nvme" wait_until "$bdf back on nvme" back_on_nvme
grep -E 'restart|kept|SIGUSR2|client pid' /tmp/homid.log | tail -n 40
finish
