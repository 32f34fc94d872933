#!/bin/bash
# Inside the testbed guest (bench/ublk/run.sh): fio 4 KiB random reads at QD1
# and QD128 on /dev/ublkb0 (homid over QEMU's NVMe at 01:00.0, through vfio)
# and on the kernel NVMe driver's namespace of an identical controller at
# 02:00.0, each three times, alternating; then fio --verify on /dev/ublkb0.
# Then the same reads on a second homid's export of the null device model
# (emu:1G,null) against null_blk (blk-mq, irqmode=0), alternating.
# Writes markdown tables to $2.
# Usage: guest.sh BUILD_DIR TABLE
build=$1
table=$2
. "$(dirname "$0")/../../tests/vm/guest_lib.sh"
raw=$(blkdev_of 0000:02:00.0) || { echo "no namespace on 02:00.0"; exit 1; }
blkdev_of 0000:01:00.0 >/dev/null || { echo "no namespace on 01:00.0"; exit 1; }
log=/tmp/homid.log
"$build/homid" --foreground --socket /run/aisio/homid.sock --ctrl pci:0000:01:00.0,drv=vfio \
	--export ctrl=0000:01:00.0,queues=2,depth=128 >$log 2>&1 &
hpid=$!
for i in $(seq 600); do grep -q "ublkb0 exported" $log && break; sleep 0.1; done
test -b /dev/ublkb0 || { cat $log; exit 1; }
# fill both so reads hit written blocks
for d in /dev/ublkb0 $raw; do
	fio --name=fill --filename=$d --rw=write --bs=1M --iodepth=8 --ioengine=io_uring --direct=1 \
		--size=256M --output=/dev/null || exit 1
done
run() { # run DEV QD N -> /tmp/fio.DEVNAME.QD.N.json
	fio --name=r --filename=$1 --rw=randread --bs=4k --iodepth=$2 --ioengine=io_uring --direct=1 \
		--size=256M --time_based --runtime=5 --ramp_time=1 --randrepeat=0 \
		--output-format=json --output=/tmp/fio.$(basename $1).$2.$3.json || exit 1
}
table() { # table A B VERIFY_RC|"" -> markdown on stdout
python3 - "$@" <<'PY'
import json, statistics, sys
a, b, vrc = sys.argv[1], sys.argv[2], sys.argv[3]
def load(dev, qd):
    out = []
    for n in (1, 2, 3):
        j = json.load(open(f"/tmp/fio.{dev}.{qd}.{n}.json"))["jobs"][0]["read"]
        out.append((j["iops"], j["clat_ns"]["percentile"].get("99.990000", 0) / 1000.0))
    return out
print("| target | QD | IOPS min / median / max | p99.99 us min / median / max |")
print("|---|---|---|---|")
med = {}
for dev in (a, b):
    for qd in (1, 128):
        r = load(dev, qd)
        i = sorted(x[0] for x in r); l = sorted(x[1] for x in r)
        med[(dev, qd)] = (statistics.median(i), statistics.median(l))
        print(f"| /dev/{dev} | {qd} | {i[0]:.0f} / {i[1]:.0f} / {i[2]:.0f} | {l[0]:.0f} / {l[1]:.0f} / {l[2]:.0f} |")
print()
print(f"- QD128 IOPS ratio ublk / raw (medians): {med[(a,128)][0] / med[(b,128)][0]:.2f} (goal >= 0.95)")
print(f"- QD1 p99.99 latency ratio ublk / raw (medians): {med[(a,1)][1] / med[(b,1)][1]:.2f} (goal <= 2)")
print(f"- QD1 IOPS ratio ublk / raw (medians): {med[(a,1)][0] / med[(b,1)][0]:.2f}")
if vrc != "":
    print(f"- fio --verify=crc32c on /dev/{a} (64 MiB random 4 KiB writes, QD32): {'ok' if int(vrc) == 0 else 'FAILED'}")
PY
}
for n in 1 2 3; do
	for qd in 1 128; do
		run /dev/ublkb0 $qd $n
		run $raw $qd $n
	done
done
fio --name=v --filename=/dev/ublkb0 --rw=randwrite --bs=4k --iodepth=32 --ioengine=io_uring \
	--direct=1 --size=64M --offset=512M --verify=crc32c --do_verify=1 --output=/tmp/fio.verify >/dev/null 2>&1
vrc=$?
grep -E "err=|verify" /tmp/fio.verify | head -5
table ublkb0 "$(basename $raw)" $vrc >"$table" || exit 1
kill -TERM $hpid
wait $hpid

# ublk over the null device model against null_blk: both complete without
# touching data, so this measures the two block paths alone.
modprobe -d /run/testbed null_blk queue_mode=2 irqmode=0 bs=512 gb=1 nr_devices=1 \
	submit_queues=2 hw_queue_depth=128 || modprobe null_blk queue_mode=2 irqmode=0 bs=512 gb=1 \
	nr_devices=1 submit_queues=2 hw_queue_depth=128 || { echo "cannot load null_blk"; exit 1; }
test -b /dev/nullb0 || { echo "no /dev/nullb0"; exit 1; }
nlog=/tmp/homid-null.log
"$build/homid" --foreground --socket /run/aisio/homid-null.sock --ctrl emu:1G,null \
	--export ctrl=emu0,queues=2,depth=128 >$nlog 2>&1 &
npid=$!
for i in $(seq 600); do grep -q "exported" $nlog && break; sleep 0.1; done
ublk=$(sed -n 's|.*\(/dev/ublkb[0-9]*\) exported.*|\1|p' $nlog | head -n1)
test -n "$ublk" && test -b "$ublk" || { cat $nlog; kill -TERM $npid; exit 1; }
for n in 1 2 3; do
	for qd in 1 128; do
		run $ublk $qd $n
		run /dev/nullb0 $qd $n
	done
done
{
	echo
	echo "### ublk over the null device model against null_blk"
	echo
	table "$(basename $ublk)" nullb0 ""
} >>"$table" || exit 1
kill -TERM $npid
wait $npid
