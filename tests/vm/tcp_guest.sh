#!/bin/bash
# Inside the guest booted by vm_tcp: the Linux kernel's NVMe/TCP target
# (nvmet-tcp on loopback, set up through configfs) exports QEMU's NVMe
# namespace and a memory-backed null_blk; aisio reaches them through
# nvme+tcp://:
#   - aisio dev identify, and the conformance suite on both (the null_blk one
#     also with header and data digests);
#   - a cross-check with the kernel's initiator (nvme connect): bytes written
#     through nvme+tcp:// read back with dd from the kernel's block device and
#     compared with cmp, and the other way round; aisio perf verify both ways;
#   - faults: while tcp_faults keeps 16 commands in flight, the port's link
#     to the subsystem is removed and restored, and every 10th cycle nvmet-tcp
#     is unloaded and loaded again ($AISIO_TCP_CYCLES cycles, default 100):
#     no crash, acknowledged writes intact, I/O resumes.
# Usage: tcp_guest.sh BUILD_DIR
build=$1
. "$(dirname "$0")/guest_lib.sh"
aisio=$build/aisio conf=$build/tests/model/conformance
rw=$build/tests/vm/tcp_rw faults=$build/tests/vm/tcp_faults
cycles=${AISIO_TCP_CYCLES:-100}
. "$(dirname "$0")/nvmet_lib.sh"
cd /tmp || exit 1

nvme0=$(blkdev_of 0000:01:00.0) || fail "QEMU's NVMe namespace has no block device"
if ! nvmet_up "$nvme0"; then
	fail "nvmet-tcp on 127.0.0.1:4420 exporting $nvme0 and /dev/nullb1"
	finish
fi
pass "nvmet-tcp on 127.0.0.1:4420 exports $nvme0 and /dev/nullb1"
uq=nvme+tcp://127.0.0.1:4420/$nqn_q un=nvme+tcp://127.0.0.1/$nqn_n

check "aisio dev identify $uq" sh -c "'$aisio' dev identify '$uq' | tee /tmp/id.txt | grep -qi linux"
cat /tmp/id.txt
for u in "$uq" "$un" "$un,hdgst=1,ddgst=1,nr_io_queues=2"; do
	"$conf" "$u" >/tmp/conf.txt 2>&1
	rc=$?
	grep -E "FAIL|passed" /tmp/conf.txt
	check "conformance through $u (exit $rc)" test $rc = 0
done
out=$("$aisio" dev identify nvme+tcp://127.0.0.1/nqn.2026-01.io.aisio:nosuch 2>&1)
rc=$?
echo "$out"
check "a bad subsystem NQN is refused (exit $rc)" test $rc != 0
check "... with a message naming SUBNQN" grep -q SUBNQN <<<"$out"

# ---- cross-check with the kernel's initiator --------------------------------
seed=300
for nqn in $nqn_q $nqn_n; do
	u=nvme+tcp://127.0.0.1/$nqn
	check "nvme connect $nqn" nvme connect -t tcp -a 127.0.0.1 -s 4420 -n $nqn -q $hostnqn
	wait_until "kernel block device for $nqn" kdev_try $nqn
	k=$(kdev_of $nqn) || { fail "no kernel block device for $nqn"; continue; }
	lbs=$(cat /sys/block/${k#/dev/}/queue/logical_block_size)
	head -c 4M /dev/urandom >/tmp/a.bin
	head -c 4M /dev/urandom >/tmp/b.bin
	# aisio -> kernel, 4 MiB at 1 MiB
	check "$u: tcp_rw writes 4 MiB" "$rw" write "$u" $((1048576 / lbs)) /tmp/a.bin
	check "kernel $k reads byte for byte what nvme+tcp:// wrote" \
		sh -c "dd if=$k bs=1M skip=1 count=4 iflag=direct status=none | cmp - /tmp/a.bin"
	# kernel -> aisio, 4 MiB at 8 MiB
	check "kernel $k writes 4 MiB" dd if=/tmp/b.bin of=$k bs=1M seek=8 oflag=direct conv=fsync status=none
	check "$u: tcp_rw reads 4 MiB" "$rw" read "$u" $((8388608 / lbs)) 4194304 /tmp/c.bin
	check "nvme+tcp:// reads byte for byte what the kernel wrote" cmp /tmp/b.bin /tmp/c.bin
	check "negative: the compare sees a difference" not cmp -s /tmp/a.bin /tmp/c.bin
	# aisio perf verify both ways (stamps in every LBA)
	seed=$((seed + 1))
	check "$u: perf verify --only write (seed $seed)" \
		"$aisio" perf verify --only write --seed $seed --offset 16M --size 8M "$u"
	check "kernel $k: perf verify --only read (seed $seed)" \
		"$aisio" perf verify --only read --seed $seed --offset 16M --size 8M "$k"
	seed=$((seed + 1))
	check "kernel $k: perf verify --only write (seed $seed)" \
		"$aisio" perf verify --only write --seed $seed --offset 32M --size 8M "$k"
	check "$u: perf verify --only read (seed $seed)" \
		"$aisio" perf verify --only read --seed $seed --offset 32M --size 8M "$u"
	check "nvme disconnect $nqn" nvme disconnect -n $nqn
done

# ---- faults: the port removed, nvmet-tcp restarted, mid-I/O ------------------
rm -f /tmp/stop
"$faults" "$un,reconnect_delay_ms=100,ctrl_loss_tmo=120,timeout_ms=5000" /tmp/stop 256 >/tmp/faults.txt 2>&1 &
fpid=$!
sleep 2
restarts=0
t0=$SECONDS
for i in $(seq 1 "$cycles"); do
	if [ $((i % 10)) = 0 ]; then
		nvmet_port_down
		rmmod nvmet_tcp || fail "cycle $i: rmmod nvmet_tcp"
		sleep 0.2
		mp nvmet-tcp || fail "cycle $i: modprobe nvmet-tcp"
		nvmet_port_up || fail "cycle $i: port back"
		restarts=$((restarts + 1))
	else
		rm -f $cfg/ports/1/subsystems/$nqn_n
		sleep 0.2
		ln -s $cfg/subsystems/$nqn_n $cfg/ports/1/subsystems/$nqn_n || fail "cycle $i: link back"
	fi
	sleep 0.5
	kill -0 $fpid 2>/dev/null || { fail "cycle $i: tcp_faults exited early"; break; }
done
echo "fault cycles: $cycles ($restarts nvmet-tcp restarts) in $((SECONDS - t0)) s"
touch /tmp/stop
wait $fpid
rc=$?
cat /tmp/faults.txt | tail -5
check "tcp_faults through $cycles cycles: no crash, data intact, I/O resumed (exit $rc)" test $rc = 0
dmesg | grep -E "BUG:|Oops|general protection|Call Trace" && fail "kernel log shows a crash"
finish
