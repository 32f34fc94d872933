#!/bin/bash
# Inside the guest booted by vm_extent: homid owns QEMU's NVMe at 01:00.0
# through vfio and exports namespace 1 from LBA 2048 on as /dev/ublkb0; the
# kernel mounts an XFS on it. A homi: client reads files through the
# extents homid's extent service gives (FIEMAP, fanotify) and checks every
# byte against include/aisio/pattern.h; files are changed (overwritten in
# place, truncated, extended, deleted, renamed, replaced, written by another
# process) while it holds their runs, and no read may return old bytes.
# Unwritten and shared extents go to the kernel path with the reason; bad
# paths (outside the mount, a directory, missing, '..' escaping, a file the
# caller may not read) are refused.
# Usage: extent_guest.sh BUILD_DIR
build=$1
homid=$build/homid
tool=$build/tests/vm/extent_tool
. "$(dirname "$0")/guest_lib.sh"
bdf=0000:01:00.0
sock=/tmp/homid.sock
log=/tmp/homid.log
mnt=/tmp/mnt
dev=/dev/ublkb0
mkdir -p $mnt

blk=$(blkdev_of $bdf) || { fail "no namespace on $bdf"; finish; }
sectors=$(cat /sys/block/${blk#/dev/}/size)
first=2048 # the export starts here: extents are translated to namespace LBAs
cat >/tmp/homid.conf <<CONF
[uid:65534]
access = ro
direct = no
CONF
rm -f $log # only this homid's lines count
"$homid" --foreground --log-level debug --socket $sock --config /tmp/homid.conf \
	--ctrl pci:$bdf,drv=vfio --export "ctrl=$bdf,nsid=1,lba_first=$first,lba_count=$((sectors - first))" \
	>$log 2>&1 &
hpid=$!
exported() { grep -q "ublkb0 exported" $log || { kill -0 $hpid 2>/dev/null || return 2; return 1; }; }
if ! wait_until "homid exports $dev" exported; then
	cat $log
	fail "homid exports $dev"
	finish
fi
check "mkfs.xfs on $dev" mkfs.xfs -q -f $dev
check "mount $dev" mount $dev $mnt
uri=homi:$sock,mode=mediated

# a dataset written through the kernel, read through the extents
mkdir -p /tmp/src $mnt/ds
"$tool" gen /tmp/src /tmp/proto >/tmp/paths
i=0
while read -r p; do
	mkdir -p "$(dirname "$mnt/ds/$p")"
	cp /tmp/src/$i "$mnt/ds/$p"
	i=$((i + 1))
done </tmp/paths
# shellcheck disable=SC2046
check "every byte of $(wc -l </tmp/paths) files through their extents (page cache not yet written)" \
	"$tool" verify $uri mounted $mnt/ds $(cat /tmp/paths)
sync
echo 3 >/proc/sys/vm/drop_caches
# shellcheck disable=SC2046
check "again after sync and drop_caches" "$tool" verify $uri mounted $mnt/ds $(cat /tmp/paths)

# changes while a reader holds the runs: new bytes or a refusal, never old ones
mkdir -p $mnt/s
check "no stale byte after modify, truncate, delete, rename (and 24 random changes)" \
	"$tool" stale $uri $mnt/s 24

# bad input
check "a path outside the mount is refused" "$tool" expect EXDEV $uri mounted /etc/hostname
check "a path escaping the mount with '..' is refused" \
	"$tool" expect EXDEV $uri mounted $mnt/ds/../../../etc/hostname
check "a directory is refused" "$tool" expect EISDIR $uri mounted $mnt/ds/d1
check "a missing file is refused" "$tool" expect ENOENT $uri mounted $mnt/ds/d1/nothing
check "a relative path is refused" "$tool" expect EINVAL $uri mounted ds/tiny
check "the decoder is refused on a namespace the kernel has through ublk" \
	"$tool" expect EBUSY $uri image /ds/tiny
chmod 600 $mnt/ds/mid
check "a file nobody may not read is refused to nobody" \
	"$tool" --as 65534 expect EACCES $uri mounted $mnt/ds/mid
check "a file nobody may read is read by nobody" \
	"$tool" --as 65534 verify $uri mounted $mnt/ds tiny d1/a
check "homid logged the fanotify invalidations" grep -q "changed: mapping gen" $log
check "homid still serves" kill -0 $hpid

umount $mnt
check "xfs_repair -n clean" xfs_repair -n $dev
kill -TERM $hpid
wait $hpid
grep -E "<[0-3]>" $log | tail -5
finish
