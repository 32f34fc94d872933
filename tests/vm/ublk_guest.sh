#!/bin/bash
# Inside the guest booted by vm_ublk: homid owns QEMU's NVMe at 01:00.0
# through vfio and exports the first part of namespace 1 as /dev/ublkb0
# (ublk_drv) from its own hardware queue pairs. XFS on it takes a tree of
# files that must read back intact; meanwhile a homi: client verifies its
# own LBA range past the export on the same controller, and another homi:
# client reads files' data blocks through their FIEMAP extents and must get
# the bytes the kernel returns. Then homid is
# SIGKILLed while XFS takes fsync'ed writes, restarted, and must resume the
# device with every acknowledged write intact; a clean stop removes the
# device, and a device left by a killed homid that is not exported again is
# removed at the next start.
# Usage: ublk_guest.sh BUILD_DIR
build=$1
homid=$build/homid
aisio=$build/aisio
. "$(dirname "$0")/guest_lib.sh"
bdf=0000:01:00.0
sock=/run/aisio/homid.sock
log=/tmp/homid.log
mnt=/tmp/mnt
dev=/dev/ublkb0
mkdir -p $mnt

blk=$(blkdev_of $bdf) || { fail "no namespace on $bdf"; finish; }
sectors=$(cat /sys/block/${blk#/dev/}/size)
exp=$((sectors * 3 / 4)) # LBAs (512 B) exported; the rest is the client's
client_off=$((exp * 512))
echo "namespace: $sectors LBAs; exported: $exp"

hpid=
runs=0
start_homid() { # start_homid WHAT-TO-WAIT-FOR [OPTION...]: each run logs to a file of its own
	local want=$1 i
	shift
	runs=$((runs + 1))
	log=/tmp/homid.$runs.log
	"$homid" --foreground --log-level debug --socket $sock --ctrl pci:$bdf,drv=vfio "$@" >$log 2>&1 &
	hpid=$!
	for i in $(seq 600); do
		grep -q "$want" $log && return 0
		kill -0 $hpid 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop_homid() {
	kill -TERM $hpid 2>/dev/null
	wait $hpid
}
exp_first=0 # namespace LBA where /dev/ublkb0 starts
export_spec="ctrl=$bdf,nsid=1,lba_first=$exp_first,lba_count=$exp,queues=2,depth=32"

check "homid exports $dev" start_homid "ublkb0 exported" --export "$export_spec"
check "$dev is a block device" test -b $dev
check "size is the exported range" test "$(blockdev --getsize64 $dev)" = $((exp * 512))
check "logical block size 512 (the LBA format)" test "$(blockdev --getss $dev)" = 512
mhs=$(cat /sys/block/ublkb0/queue/max_hw_sectors_kb)
check "max sectors from MDTS ($mhs KiB)" test "$mhs" -gt 0 -a "$mhs" -le 512
check "volatile cache and FUA announced" sh -c "grep -q 'write back' /sys/block/ublkb0/queue/write_cache && test \"\$(cat /sys/block/ublkb0/queue/fua)\" = 1"
check "status names the data path" sh -c "'$aisio' homi status --socket $sock 2>&1 | tee /tmp/status | grep -q 'plain buffers'"
cat /tmp/status

# raw block semantics: write, read back, write zeroes, discard
head -c 4M /dev/urandom >/tmp/pat
head -c 1M /dev/zero >/tmp/zero
tail -c 3M /tmp/pat >/tmp/pat.rest
check "O_DIRECT write 4 MiB at 1 MiB" dd if=/tmp/pat of=$dev bs=1M seek=1 oflag=direct,sync status=none
check "O_DIRECT read back equal" sh -c "dd if=$dev bs=1M skip=1 count=4 iflag=direct status=none | cmp - /tmp/pat"
check "write zeroes (blkdiscard -z)" blkdiscard -z -o 1048576 -l 1048576 $dev
check "zeroed range reads zero" sh -c "dd if=$dev bs=1M skip=1 count=1 iflag=direct status=none | cmp - /tmp/zero"
check "rest of the pattern intact" sh -c "dd if=$dev bs=1M skip=2 count=3 iflag=direct status=none | cmp - /tmp/pat.rest"
check "discard (Dataset Management)" blkdiscard -o 2097152 -l 1048576 $dev
check "fio --verify on $dev" fio --name=v --filename=$dev --rw=randwrite --bs=4k --iodepth=16 \
	--ioengine=io_uring --direct=1 --size=16M --offset=8M --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --output=/tmp/fio.verify
check "no LBA past the export is reachable" test "$(dd if=$dev bs=512 skip=$exp count=1 iflag=direct status=none | wc -c)" = 0

# XFS with a homi: client on the LBAs past the export, at the same time
"$aisio" perf verify --size 64M --offset $client_off "homi:$sock,mode=mediated" >/tmp/client.out 2>&1 &
cpid=$!
check "mkfs.xfs" mkfs.xfs -q -f $dev
check "mount" mount $dev $mnt
for d in a b c/d; do mkdir -p $mnt/$d; done
for i in $(seq 24); do
	sub=$(echo "a b c/d" | cut -d' ' -f$((i % 3 + 1)))
	head -c $((i * 37 * 1024 + i)) /dev/urandom >$mnt/$sub/f$i
done
dd if=/dev/urandom of=$mnt/big bs=1M count=48 status=none
# a file with holes: three extents of 192 KiB at 0, 2 MiB and 5 MiB
for o in 0 2 5; do
	dd if=/dev/urandom of=$mnt/holes bs=64k count=3 seek=$((o * 16)) conv=notrunc status=none
done
(cd $mnt && find . -type f | sort | xargs sha256sum) >/tmp/sums
check "sync" sync
echo 3 >/proc/sys/vm/drop_caches
check "files read back equal (page cache dropped)" sh -c "cd $mnt && sha256sum --quiet -c /tmp/sums"
# multipath: a homi: client with its own queue reads files' data blocks
# through their extents (FIEMAP with sync) while XFS is mounted, and must
# get the bytes the kernel returns. aisio extents -r prints device byte
# offsets on $dev; the namespace LBA is exp_first + offset / LBA size.
lbasz=$(blockdev --getss $dev) # the export's LBA size is the namespace's LBA format
extents_match() { # extents_match FILE MIN-EXTENTS
	local f=$1 min=$2 line size e off len doff flags n total=0 nx=0 args=() list=()
	line=$("$aisio" extents -r "$f") || return 1
	size=$(cut -f3 <<<"$line")
	IFS=';' read -ra list <<<"$(cut -f4 <<<"$line")"
	: >/tmp/ext.kernel
	for e in "${list[@]}"; do
		IFS=, read -r off len doff flags <<<"$e"
		[ "$off" -lt "$size" ] || continue
		# unwritten (0x800) reads as zeros: nothing on the device to compare
		if (((0x$flags & 0x800) != 0)); then continue; fi
		if ((doff % lbasz)); then echo "$f: device offset $doff is not LBA-aligned"; return 1; fi
		n=$((size - off < len ? size - off : len)) # the last extent may pass EOF
		args+=($((exp_first + doff / lbasz)) $(((n + lbasz - 1) / lbasz)))
		tail -c +$((off + 1)) "$f" | head -c $n >>/tmp/ext.kernel
		total=$((total + n))
		nx=$((nx + 1))
	done
	echo "$f: $size bytes, $nx extents compared: ${args[*]}"
	if [ $nx -lt "$min" ]; then echo "$f: $nx extents, expected at least $min"; return 1; fi
	"$build/tests/vm/homi_readlba" "homi:$sock,mode=mediated" "${args[@]}" >/tmp/ext.homi || return 1
	test "$(stat -c %s /tmp/ext.homi)" -ge $total || { echo "$f: short read through homi:"; return 1; }
	head -c $total /tmp/ext.homi | cmp - /tmp/ext.kernel
}
for f in a/f3 b/f1 c/d/f2 a/f24 big; do
	check "homi: extents of $f read the kernel's bytes" extents_match $mnt/$f 1
done
check "homi: the 3 extents of a file with holes read the kernel's bytes" extents_match $mnt/holes 3
echo 3 >/proc/sys/vm/drop_caches
check "files still equal after the homi: reads" sh -c "cd $mnt && sha256sum --quiet -c /tmp/sums"
check "fstrim (discard through XFS)" fstrim $mnt
# multipath: the XFS decoder, a homi: client with its own queue, reads the
# mounted file system's metadata from the same controller
(cd $mnt && find . -mindepth 1 | sed 's|^\.||' | sort) >/tmp/find.kernel
"$aisio" xfs find -f "homi:$sock,mode=mediated" / 2>/tmp/xfsfind.err | grep -vx / | sort >/tmp/find.homi
check "homi: XFS decoder sees the kernel's tree" cmp /tmp/find.kernel /tmp/find.homi
check "homi: client verified its range meanwhile" sh -c "wait $cpid; grep -q ' 0 mismatches' /tmp/client.out"
cat /tmp/client.out
check "umount" umount $mnt
check "xfs_repair -n clean" xfs_repair -n $dev
check "remount: files equal" sh -c "mount $dev $mnt && cd $mnt && sha256sum --quiet -c /tmp/sums"

# SIGKILL while XFS takes fsync'ed writes: the device waits, homid resumes it
: >/tmp/acked
(
	for i in $(seq 60); do
		head -c $((64 * 1024 + i * 512)) /dev/urandom >/tmp/w.$i
		dd if=/tmp/w.$i of=$mnt/w$i bs=64k conv=fsync status=none || exit 1
		echo "$(sha256sum </tmp/w.$i | cut -d' ' -f1) w$i" >>/tmp/acked
		rm -f /tmp/w.$i
	done
) &
wpid=$!
sleep 3
before=$(wc -l </tmp/acked)
kill -KILL $hpid
wait $hpid 2>/dev/null
echo "homid killed after $before acknowledged writes"
sleep 2
held=$(wc -l </tmp/acked)
sleep 3
check "writer is held while homid is gone" sh -c "kill -0 $wpid && test \$(wc -l </tmp/acked) = $held"
check "homid restarts and recovers $dev" start_homid "ublkb0 recovered" --export "$export_spec"
check "writer finishes after recovery" wait $wpid
after=$(wc -l </tmp/acked)
echo "acknowledged writes: $before before the kill, $after in all"
check "writes continued after recovery" test "$after" -gt "$before"
echo 3 >/proc/sys/vm/drop_caches
check "every acknowledged write intact" sh -c "cd $mnt && while read sum f; do test \"\$(sha256sum <\$f | cut -d' ' -f1)\" = \$sum || { echo \"\$f differs\"; exit 1; }; done </tmp/acked"
check "earlier files intact" sh -c "cd $mnt && sha256sum --quiet -c /tmp/sums"
check "XFS did not shut down" not sh -c "dmesg | grep -Ei 'xfs.*(shut ?down|corruption)'"
check "umount after recovery" umount $mnt
check "xfs_repair -n clean after recovery" xfs_repair -n $dev

# clean stop removes the device; a device a killed homid left is removed
# at the next start when it is not exported again
check "SIGTERM stops homid" stop_homid
check "$dev removed on stop" not test -e $dev
check "homid exports again" start_homid "ublkb0 exported" --export "$export_spec"
kill -KILL $hpid
wait $hpid 2>/dev/null
check "$dev kept by the kernel after SIGKILL" test -e $dev
check "homid without the export removes the stale device" start_homid "removing /dev/ublkb0"
for i in $(seq 100); do [ -e $dev ] || break; sleep 0.1; done
check "stale $dev gone" not test -e $dev

# export and unexport at run time (root only), the file system still there
check "aisio homi export" sh -c "'$aisio' homi export --socket $sock '$export_spec' | grep -qx $dev"
check "exported device keeps the file system" sh -c "xfs_repair -n $dev >/dev/null 2>&1 && mount $dev $mnt && cd $mnt && sha256sum --quiet -c /tmp/sums && cd / && umount $mnt"
check "an overlapping export is refused" sh -c "'$aisio' homi export --socket $sock 'ctrl=$bdf,lba_first=8,lba_count=8' 2>&1 | grep -q overlap"
check "a bad export spec is refused with a reason" sh -c "'$aisio' homi export --socket $sock 'ctrl=$bdf,queues=99' 2>&1 | grep -q 'out of range'"
check "export is refused to a non-root user" sh -c "setpriv --reuid=65534 --regid=65534 --clear-groups '$aisio' homi export --socket $sock 'ctrl=$bdf,lba_first=$exp,lba_count=2048' 2>&1 | grep -q root"
check "status lists the export and the kernel features" sh -c "'$aisio' homi status --socket $sock | tee /tmp/status | grep -q '^/dev/ublkb0: '"
cat /tmp/status
# an LBA range that does not start at 0: data lands at lba_first + offset
r0=$((exp + 4096))
check "export a range at LBA $r0" sh -c "'$aisio' homi export --socket $sock 'ctrl=$bdf,lba_first=$r0,lba_count=2048' | grep -qx /dev/ublkb1"
check "write 64 KiB at the start of /dev/ublkb1" dd if=/tmp/pat of=/dev/ublkb1 bs=64k count=1 oflag=direct status=none
check "unexport /dev/ublkb1" "$aisio" homi unexport --socket $sock 1
check "export a range 1 MiB earlier" sh -c "'$aisio' homi export --socket $sock 'ctrl=$bdf,lba_first=$((r0 - 2048)),lba_count=4096' | grep -qx /dev/ublkb1"
check "the data is 1 MiB into the wider range" sh -c "dd if=/dev/ublkb1 bs=64k skip=16 count=1 iflag=direct status=none | cmp - /tmp/pat -n 65536"
check "unexport /dev/ublkb1 again" "$aisio" homi unexport --socket $sock 1
check "aisio homi unexport" "$aisio" homi unexport --socket $sock 0
for i in $(seq 100); do [ -e $dev ] || break; sleep 0.1; done
check "$dev gone after unexport" not test -e $dev
check "unexport of an unknown device fails" not "$aisio" homi unexport --socket $sock 7
check "SIGTERM stops homid again" stop_homid

for f in /tmp/homid.*.log; do echo "---- $f (last 15 lines)"; tail -15 $f; done
dmesg | grep -i ublk | tail -20
finish
