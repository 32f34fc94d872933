#!/bin/bash
# Inside the guest booted by vm_homi_crash: homid owns QEMU's NVMe
# controller (01:00.0) through vfio under sd_sup (tests/homi/sd_sup.c), which
# plays systemd's part: the notify socket, the file descriptor store, and a
# restart on failure with LISTEN_FDS (5 s later, so that the clients run
# for a while with no homid at all). homid is SIGKILLed 4 times while a
# direct client writes and verifies stamps in a loop (homi_loop) and
# another runs `aisio perf verify`: their I/O goes on while no homid runs,
# both keep their queues across every crash, 0 mismatches. A mediated
# client gets "homid went away" at the first crash, and a new one works
# afterwards. Then homid crashes inside a request (HOMID_TEST_CRASH_FILE),
# after it changed the controller and before its record says so: after a
# Memory Register (a mapping the record does not name) and after a Create
# Queue (admin commands past the record, a queue no one holds): the
# successor withdraws the mapping, recovers the admin queue from its rings,
# deletes the queue, and the client whose reply was lost gets an error.
# Then: every queue ID back, nothing piles up in the store or in homid
# across idle crashes, and SIGTERM ends it cleanly (empty store, the
# controller back on nvme).
# Usage: homi_crash_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
. "$(dirname "$0")/homi_lib.sh"
aisio=$build/aisio homid=$build/homid loop=$build/tests/vm/homi_loop sup=$build/tests/sd_sup
bdf=0000:01:00.0 sock=/tmp/homid.sock dir=/tmp/sup
cd /tmp || exit 1
mkdir -p $dir

HOMID_TEST_CRASH_FILE=/tmp/crash-at "$sup" --dir $dir --restart-ms 5000 --starts 20 -- "$homid" --foreground --socket $sock \
	--ctrl pci:$bdf,drv=vfio --log-level info 2>/tmp/homid.log &
spid=$!
field() { tr ' ' '\n' <$dir/state | sed -n "s/^$1=//p"; }
# ready N: start N of homid reported READY=1 and answers
ready() {
	kill -0 $spid 2>/dev/null || { echo "sd_sup exited" >&2; return 2; }
	[ -f $dir/state ] && [ "$(field starts)" = "$1" ] && [ "$(field ready)" = 1 ] &&
		status >/dev/null 2>&1
}
if ! wait_until "homid serving under sd_sup" ready 1; then
	cat $dir/state /tmp/homid.log
	fail "homid starts on pci:$bdf,drv=vfio under sd_sup"
	finish
fi
check "$bdf is bound to vfio-pci" test "$(driver_of $bdf)" = vfio-pci
names() { field names | tr ':' '\n'; }
check "the store holds vfio, DMA memory and the listening socket ($(field fds) descriptors)" \
	test "$(names | grep -c '^f')" -ge 5
check "the store holds the crash record's two memfds" test "$(names | grep -c '^s')" = 2

# a direct client in a write-and-verify loop, a direct perf verify, a mediated client
"$loop" "homi:$sock" 0 8192 900 /tmp/progress >/tmp/loop.out 2>&1 &
lpid=$!
"$aisio" perf verify --iosize 512 --qdepth 2 --offset 16M --size 120M "homi:$sock,mode=direct" \
	>/tmp/verify.out 2>&1 &
vpid=$!
"$aisio" perf run --runtime 300 --iosize 4k --qdepth 8 --iopattern randread --offset 200M \
	--size 8M "homi:$sock,mode=mediated" >/tmp/mediated.out 2>&1 &
mpid=$!
busy() {
	kill -0 $lpid 2>/dev/null || { echo "direct client exited:"; cat /tmp/loop.out; return 2; } >&2
	client_of $lpid | grep -q '"queues": [1-9]' && client_of $vpid | grep -q '"queues": [1-9]' &&
		client_of $mpid | grep -q '"queues": [1-9]' && [ -s /tmp/progress ]
}
check "two direct clients and a mediated one hold queues" wait_until "clients' queues" busy
# running: not exited, not a zombie waiting to be reaped
verify_running() { [ -r /proc/$vpid/stat ] && ! awk '{ exit $3 != "Z" }' /proc/$vpid/stat; }
verify_kept() { client_of $vpid | grep -q '"queues": 1'; }
status
sleep 1
verify_kills=0
for n in 1 2 3 4; do
	pid=$(field pid)
	running=0
	kill -0 $vpid 2>/dev/null && running=1
	kill -KILL $pid
	gone() { test ! -d /proc/$pid; }
	wait_until "homid $pid gone" gone
	p0=$(cat /tmp/progress)
	sleep 0.5
	p1=$(cat /tmp/progress)
	starts=$(field starts)
	check "crash $n: homid $pid gone and no successor yet (start $starts)" test "$starts" = $n
	check "crash $n: the direct client's I/O goes on while no homid runs ($p0 -> $p1 commands)" \
		test "$p1" -gt "$p0"
	if ! wait_until "homid after crash $n" ready $((n + 1)); then
		fail "crash $n: a successor serving again"
		cat $dir/state
		tail -n 60 /tmp/homid.log
		break
	fi
	pass "crash $n: successor pid $(field pid) serving"
	check "crash $n: the loop client (pid $lpid) kept with its queue" \
		sh -c "'$aisio' homi status --json --socket $sock | tr '{' '\n' | grep '\"pid\": $lpid,' | grep -q '\"queues\": 1'"
	check "crash $n: the loop client still running" kill -0 $lpid
	# The verify may finish on its own around a crash (its exit status and
	# mismatch count are checked at the end): only a running one must be kept.
	if [ $running = 1 ] && verify_running; then
		if verify_kept || { sleep 1; verify_kept; }; then
			verify_kills=$((verify_kills + 1))
			pass "crash $n: perf verify (pid $vpid) kept with its queue"
		elif verify_running; then
			fail "crash $n: perf verify (pid $vpid) kept with its queue"
		else
			echo "note: crash $n: perf verify (pid $vpid) finished meanwhile"
		fi
	fi
	# one status for both counts: a client that ends between two calls would change one of them
	snap=$(status)
	used=$(sed -n 's/.*"qids_used": \([0-9]*\).*/\1/p' <<<"$snap" | head -n 1)
	want=$(grep -o '"queues": [0-9]*' <<<"$snap" | awk '{s += $2} END {print s + 0}')
	check "crash $n: queue IDs in use ($used) are the clients' queues ($want)" \
		test -n "$used" -a "$used" = "$want"
	sleep 2
done
wait $mpid
rc=$?
cat /tmp/mediated.out
check "mediated client stopped by the first crash (exit $rc)" test $rc != 0
check "mediated client told homid went away" grep -q 'homid went away' /tmp/mediated.out
wait $vpid
rc=$?
cat /tmp/verify.out
check "perf verify through $verify_kills crash(es) of homid: exit $rc" test $rc = 0
check "perf verify: 0 mismatches" grep -q ' 0 mismatches' /tmp/verify.out
check "perf verify ran across at least one crash ($verify_kills)" test $verify_kills -ge 1
kill -TERM $lpid
wait $lpid
rc=$?
cat /tmp/loop.out
check "loop client through 4 crashes: exit $rc" test $rc = 0
check "loop client: 0 mismatches" grep -q ' 0 mismatches' /tmp/loop.out
check "loop client: many rounds" sh -c "grep -Eq 'homi_loop: ([2-9]|[1-9][0-9]+) rounds' /tmp/loop.out"

# after the crashes: the recovered admin queue deletes and creates queues
check "the direct clients' queues deleted and their queue IDs back" wait_until "queue IDs back" idle
for mode in direct mediated; do
	"$aisio" perf verify --iosize 16k --qdepth 8 --size 8M --offset $([ $mode = direct ] && echo 64M || echo 96M) \
		"homi:$sock,mode=$mode" >/tmp/after-$mode.out 2>&1
	rc=$?
	cat /tmp/after-$mode.out
	check "after the crashes: a new $mode client verifies (exit $rc)" \
		sh -c "test $rc = 0 && grep -q ' 0 mismatches' /tmp/after-$mode.out"
done
check "aisio dev identify through homi: after the crashes" \
	sh -c "'$aisio' dev identify homi:$sock | grep -q 'QEMU NVMe Ctrl'"
check "every queue ID back, no client left" wait_until "queue IDs back" idle

# crashes inside a request: the controller is ahead of the record
torn() { # torn SLUG TYPE OFFSET WHAT: crash after request TYPE of a new direct client
	local n=$(field starts) rc
	echo $2 >/tmp/crash-at
	"$aisio" perf verify --iosize 4k --size 1M --offset $3 "homi:$sock,mode=direct" >/tmp/torn-$1.out 2>&1
	rc=$?
	cat /tmp/torn-$1.out
	check "crash in $4: the client whose reply was lost gets an error (exit $rc)" test $rc != 0
	if [ -e /tmp/crash-at ]; then
		fail "crash in $4: homid crashed there"
		rm -f /tmp/crash-at
		return
	fi
	pass "crash in $4: homid crashed there"
	if ! wait_until "homid after the crash in $4" ready $((n + 1)); then
		fail "crash in $4: a successor serving again"
		tail -n 40 /tmp/homid.log
		return
	fi
	check "crash in $4: every queue ID back, no client left" wait_until "queue IDs back" idle
}
torn memreg 4 120M "Memory Register"
check "crash in Memory Register: the mapping the record missed is withdrawn" \
	grep -q 'bytes mapped after the crash record withdrawn' /tmp/homid.log
check "crash in Memory Register: the client whose request was in flight is reclaimed" \
	grep -q 'whose reply is lost; dropping it' /tmp/homid.log
torn qpcreate 6 124M "Create Queue"
check "crash in Create Queue: the queue no one holds is deleted" \
	grep -q ': 1 queue pair(s) no one took over deleted' /tmp/homid.log
"$aisio" perf verify --iosize 16k --qdepth 8 --size 8M --offset 128M "homi:$sock,mode=direct" \
	>/tmp/after-torn.out 2>&1
rc=$?
cat /tmp/after-torn.out
check "after the crashes in requests: a new direct client verifies (exit $rc)" \
	sh -c "test $rc = 0 && grep -q ' 0 mismatches' /tmp/after-torn.out"
check "after the crashes in requests: every queue ID back" wait_until "queue IDs back" idle

# idle crashes: the store and homid's descriptors stay as they are
counts=""
for i in 1 2 3; do
	n=$(field starts)
	kill -KILL "$(field pid)"
	if ! wait_until "homid after idle crash $i" ready $((n + 1)); then
		fail "idle crash $i: a successor serving again"
		break
	fi
	sleep 0.5
	counts="$counts $(field fds)/$(ls /proc/$(field pid)/fd | wc -l)"
done
set -- $counts
check "idle crashes: store/homid descriptors steady ($counts)" test "$2" = "$3"
check "after the idle crashes: every queue ID free" wait_until "queue IDs back" idle

kill -TERM $spid
wait $spid
rc=$?
check "homid exits cleanly on SIGTERM after the crashes (exit $rc)" test $rc = 0
check "a clean exit empties the store" test "$(field fds)" = 0
back_on_nvme() { test "$(driver_of $bdf)" = nvme; }
check "$bdf back on nvme" wait_until "$bdf back on nvme" back_on_nvme
grep -E 'crash|restarted|kept|withdrawn|took over|client pid|WARN|ERR' /tmp/homid.log | tail -n 60
finish
