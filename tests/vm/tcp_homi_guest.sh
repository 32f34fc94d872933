#!/bin/bash
# Inside the guest booted by vm_tcp_homi: the kernel's nvmet-tcp exports
# QEMU's NVMe namespace on 127.0.0.1:4420 (nvmet_lib.sh, as vm_tcp), and homid
# owns that remote controller (controller = nvme+tcp://... in its
# configuration) and serves mediated clients through homi::
#   - a target nobody listens on and an unknown subsystem NQN: homid exits
#     with the reason;
#   - aisio homi status shows it (kind tcp); Identify goes through homid;
#   - 4 clients at once, 2 direct (TCP connections of their own that homid
#     connects and hands over) and 2 mediated (16 KiB and 128 KiB I/O: PRP
#     lists), run aisio perf verify on their own LBA ranges: 0 mismatches,
#     every queue ID back;
#   - a mediated and a direct client SIGKILLed mid-I/O while another
#     verifies: reclaimed, queue IDs back, the verifier unharmed;
#   - a client setuid to nobody with a mediated grant of 2048 LBAs: direct
#     refused; writes
#     across and past the grant refused, the bytes there unchanged;
#   - the kernel's initiator (nvme connect) reads what clients wrote through
#     homid, and homid's clients read what the kernel wrote;
#   - the target's port loses the subsystem 5 times under a busy client:
#     homid survives, and a new client verifies, older data intact;
#   - the conformance suite through homi: (mediated and direct), also with every
#     transfer through the mediator's bounce buffers (HOMID_TCP_BOUNCE=1);
#   - SIGUSR2 under a direct and a mediated client: both dropped, the same
#     homid serves new clients on a new association;
#   - homid exits cleanly on SIGTERM.
# Usage: tcp_homi_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
. "$(dirname "$0")/homi_lib.sh"
aisio=$build/aisio homid=$build/homid grant=$build/tests/vm/homi_grant
sock=/tmp/homid.sock
G=131072 # nobody's grant: LBAs [G, G + 2048)
. "$(dirname "$0")/nvmet_lib.sh"
cd /tmp || exit 1

nvme0=$(blkdev_of 0000:01:00.0) || fail "QEMU's NVMe namespace has no block device"
if ! nvmet_up "$nvme0"; then
	fail "nvmet-tcp on 127.0.0.1:4420 exporting $nvme0"
	finish
fi
pass "nvmet-tcp on 127.0.0.1:4420 exports $nvme0"
uq=nvme+tcp://127.0.0.1:4420/$nqn_q

# Bad targets: homid says why and exits.
for t in "127.0.0.1:4421/$nqn_q:cannot connect" "127.0.0.1:4420/nqn.2026-01.io.aisio:nosuch:SUBNQN"; do
	want=${t##*:} t=${t%:*}
	out=$(timeout 60 "$homid" --foreground --socket /tmp/bad.sock --ctrl "nvme+tcp://$t" 2>&1)
	rc=$?
	echo "$out"
	check "homid on nvme+tcp://$t exits (exit $rc)" test $rc = 1
	check "... with a message naming '$want'" grep -q "$want" <<<"$out"
done

cat >/tmp/homid.conf <<CONF
[homid]
controller = $uq,nr_io_queues=8,reconnect_delay_ms=100,timeout_ms=5000
[uid:65534]
lba_first = $G
lba_count = 2048
access = rw
direct = no
CONF
homid_start "homid starts on $uq" /tmp/homid.log --socket $sock --config /tmp/homid.conf \
	--log-level info
"$aisio" homi status --socket $sock
status
check "status: tcp0, kind tcp, 8 I/O queues, none used, direct queues possible" \
	sh -c "'$aisio' homi status --json --socket $sock | grep -q '\"name\": \"tcp0\", \"kind\": \"tcp\", \"qids_total\": 8, \"qids_used\": 0, .*\"direct_ok\": true'"
for mode in direct mediated; do
	check "aisio dev identify through homi: ($mode) reaches nvmet" \
		sh -c "'$aisio' dev identify homi:$sock,mode=$mode | grep -qi linux"
done

# 4 clients at once, 2 direct (their own TCP connections, handed over by
# homid) and 2 mediated, each on its own range; 128 KiB I/O (PRP lists when mediated).
pids=()
modes=(direct mediated direct mediated)
for i in 0 1 2 3; do
	io=16k
	[ $i -ge 2 ] && io=128k
	"$aisio" perf verify --iosize $io --qdepth 16 --offset $((i * 8))M --size 8M \
		"homi:$sock,mode=${modes[$i]}" >/tmp/client$i.out 2>&1 &
	pids+=($!)
done
for i in 0 1 2 3; do
	wait "${pids[$i]}"
	rc=$?
	cat /tmp/client$i.out
	check "client $i (${modes[$i]}) verify exit $rc" test $rc = 0
	check "client $i (${modes[$i]}): 0 mismatches" grep -q ' 0 mismatches' /tmp/client$i.out
done
check "every queue ID back, no client left" wait_until "queue IDs back" idle

# SIGKILL mid-I/O, a mediated and a direct client, while another verifies.
"$aisio" perf verify --iosize 16k --qdepth 8 --offset 32M --size 16M \
	"homi:$sock,mode=mediated" >/tmp/verifier.out 2>&1 &
vpid=$!
for mode in mediated direct; do
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
	echo "$mode victim before SIGKILL: $before"
	[ $mode = mediated ] &&
		check "the mediated victim's commands go through homid" grep -q '"commands": [1-9]' <<<"$before"
	kill -9 $p
	wait $p 2>/dev/null
	check "$mode victim (pid $p) reclaimed" wait_until "reclaim of pid $p" client_gone $p
done
wait $vpid
rc=$?
cat /tmp/verifier.out
check "verifier beside the kill exit $rc, 0 mismatches" \
	sh -c "test $rc = 0 && grep -q ' 0 mismatches' /tmp/verifier.out"
check "after the kill: every queue ID back" wait_until "queue IDs back" idle
check "homid alive after the kill" kill -0 $hpid

# A mediated grant: writes outside it refused, the bytes there unchanged.
root=homi:$sock,mode=mediated nobody=homi:$sock,mode=mediated
check "root fills LBAs before the grant" "$grant" fill "$root" $((G - 16)) 32 0xa5
check "root fills LBAs at the grant's end" "$grant" fill "$root" $((G + 2032)) 32 0xa5
check "nobody: direct mode refused (not granted)" \
	not "$grant" --as 65534 check "homi:$sock,mode=direct" $G 1 0
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

# Cross-check with the kernel's initiator, both ways.
check "homi: client writes stamps at 64M (seed 41)" \
	"$aisio" perf verify --only write --seed 41 --offset 64M --size 8M "homi:$sock,mode=mediated"
check "nvme connect $nqn_q" nvme connect -t tcp -a 127.0.0.1 -s 4420 -n $nqn_q -q $hostnqn
wait_until "kernel block device for $nqn_q" kdev_try $nqn_q
if k=$(kdev_of $nqn_q); then
	check "kernel $k reads the stamps homid's client wrote (seed 41)" \
		"$aisio" perf verify --only read --seed 41 --offset 64M --size 8M "$k"
	check "negative: the kernel's read of another seed fails" \
		not "$aisio" perf verify --only read --seed 42 --offset 64M --size 1M "$k"
	check "kernel $k writes stamps at 80M (seed 43)" \
		"$aisio" perf verify --only write --seed 43 --offset 80M --size 8M "$k"
	check "homi: client reads the stamps the kernel wrote (seed 43)" \
		"$aisio" perf verify --only read --seed 43 --offset 80M --size 8M "homi:$sock,mode=mediated"
	check "homi: direct client reads the stamps the kernel wrote (seed 43)" \
		"$aisio" perf verify --only read --seed 43 --offset 80M --size 8M "homi:$sock,mode=direct"
	check "homi: direct client writes stamps at 88M (seed 44)" \
		"$aisio" perf verify --only write --seed 44 --offset 88M --size 4M "homi:$sock,mode=direct"
	check "kernel $k reads the stamps the direct client wrote (seed 44)" \
		"$aisio" perf verify --only read --seed 44 --offset 88M --size 4M "$k"
	head -c 4096 /dev/zero | tr '\0' '\074' >/tmp/k.bin
	check "kernel $k writes 8 LBAs of 0x3c at LBA 200000" \
		dd if=/tmp/k.bin of=$k bs=512 seek=200000 oflag=direct conv=fsync status=none
	check "homi: client reads those 8 LBAs as 0x3c" "$grant" check "$root" 200000 8 0x3c
	check "homi: client writes 8 LBAs of 0xc3 at LBA 200100" "$grant" fill "$root" 200100 8 0xc3
	head -c 4096 /dev/zero | tr '\0' '\303' >/tmp/h.bin
	check "kernel $k reads those 8 LBAs byte for byte" \
		sh -c "dd if=$k bs=512 skip=200100 count=8 iflag=direct status=none | cmp - /tmp/h.bin"
	check "nvme disconnect $nqn_q" nvme disconnect -n $nqn_q
else
	fail "no kernel block device for $nqn_q"
fi
check "every queue ID back" wait_until "queue IDs back" idle

# The target's port loses the subsystem 5 times under a busy mediated and a
# busy direct client: homid survives, reconnects, and serves a new client with
# its data intact (a direct client's connection is not reconnected: it gets
# an error saying to reopen the device).
"$aisio" perf run --runtime 60 --iosize 4k --qdepth 16 --iopattern randrw --offset 112M \
	--size 8M "homi:$sock,mode=mediated" >/tmp/busy.out 2>&1 &
bp=$!
"$aisio" perf run --runtime 60 --iosize 4k --qdepth 16 --iopattern randrw --offset 104M \
	--size 8M "homi:$sock,mode=direct" >/tmp/busyd.out 2>&1 &
bpd=$!
check "busy client holds a queue" wait_until "busy client's queue" sh -c \
	"'$aisio' homi status --json --socket $sock | grep -q '\"queues\": [1-9]'"
for i in 1 2 3 4 5; do
	rm -f $cfg/ports/1/subsystems/$nqn_q
	sleep 0.3
	ln -s $cfg/subsystems/$nqn_q $cfg/ports/1/subsystems/$nqn_q || fail "cycle $i: link back"
	sleep 1
done
kill $bp $bpd 2>/dev/null
wait $bp $bpd
tail -n 5 /tmp/busy.out /tmp/busyd.out
check "homid alive after 5 port removals under I/O" kill -0 $hpid
reverify() { # I/O errors while the association comes back: retry; a mismatch: give up
	"$aisio" perf verify --iosize 16k --qdepth 8 --offset 120M --size 4M \
		"homi:$sock,mode=mediated" >/tmp/reverify.out 2>&1 && return 0
	grep -q ' [1-9][0-9]* mismatches' /tmp/reverify.out && { cat /tmp/reverify.out >&2; return 2; }
	return 1
}
check "after the port removals: a new client verifies (retried until the association is back)" \
	wait_until "a client verifying after the faults" reverify
cat /tmp/reverify.out
check "... 0 mismatches" grep -q ' 0 mismatches' /tmp/reverify.out
check "the stamps written before the faults read back (seed 41)" \
	"$aisio" perf verify --only read --seed 41 --offset 64M --size 8M "homi:$sock,mode=mediated"
check "after the faults: every queue ID back" wait_until "queue IDs back" idle

# The conformance suite through homi: (mediated): PRP lists, Dataset Management.
conf() { # conf TAG [MODE]
	"$build/tests/model/conformance" "homi:$sock,mode=${2:-mediated}" >/tmp/conf-$1.out 2>&1
	rc=$?
	cat /tmp/conf-$1.out
	check "conformance through homi: on tcp0 ($1): exit $rc" test $rc = 0
	check "conformance ($1): prp-integrity passes" grep -q ": PASS prp-integrity" /tmp/conf-$1.out
	check "conformance ($1): dsm-deallocate passes" grep -q ": PASS dsm-deallocate" /tmp/conf-$1.out
}
conf direct-buffers
conf direct-client direct

# SIGUSR2 (restart in place) under a direct and a mediated client: both are
# dropped (the remote controller's connections are homid's), the same homid
# process connects a new association and serves new clients.
for mode in direct mediated; do
	"$aisio" perf run --runtime 15 --iosize 4k --qdepth 8 --iopattern randread --offset 120M \
		--size 4M "homi:$sock,mode=$mode" >/tmp/r-$mode.out 2>&1 &
	eval "r_$mode=\$!"
done
both() { client_of $r_direct | grep -q '"queues": [1-9]' && client_of $r_mediated | grep -q '"queues": [1-9]'; }
check "direct and mediated clients hold queues" wait_until "clients' queues" both
kill -USR2 $hpid
sleep 0.5
check "homid serving again after SIGUSR2" wait_until "homid after the restart" up
check "... the same process ($hpid)" kill -0 $hpid
wait $r_direct $r_mediated
tail -n 3 /tmp/r-direct.out /tmp/r-mediated.out
check "after the restart: every queue ID back, no client left" wait_until "queue IDs back" idle
for mode in direct mediated; do
	check "after the restart: a new $mode client verifies" \
		"$aisio" perf verify --iosize 16k --qdepth 8 --offset 124M --size 2M "homi:$sock,mode=$mode"
done
grep -E 'restart|gone' /tmp/homid.log | tail -n 6
kill -TERM $hpid
wait $hpid
rc=$?
check "homid exits cleanly on SIGTERM (exit $rc)" test $rc = 0
tail -n 40 /tmp/homid.log

# Again with every transfer through the mediator's bounce buffers (the path
# for PRPs whose pages are not contiguous in homid's mapping).
HOMID_TCP_BOUNCE=1 "$homid" --foreground --socket $sock --config /tmp/homid.conf \
	--log-level info 2>/tmp/homid-bounce.log &
hpid=$!
check "homid (HOMID_TCP_BOUNCE=1) serving" wait_until "homid serving $sock" up
conf bounce
check "bounce: homi: client verifies 8 MiB in 128 KiB I/O" \
	"$aisio" perf verify --iosize 128k --qdepth 16 --offset 96M --size 8M "homi:$sock,mode=mediated"
check "bounce: the kernel's stamps read through homid (seed 43)" \
	"$aisio" perf verify --only read --seed 43 --offset 80M --size 8M "homi:$sock,mode=mediated"
check "bounce: every queue ID back" wait_until "queue IDs back" idle
kill -TERM $hpid
wait $hpid
rc=$?
check "homid (bounce) exits cleanly on SIGTERM (exit $rc)" test $rc = 0
# a sanitizer build (meson -Db_sanitize=address,undefined) reports into these logs
check "no sanitizer report in homid's logs" \
	not grep -E 'runtime error|Sanitizer' /tmp/homid.log /tmp/homid-bounce.log
finish
