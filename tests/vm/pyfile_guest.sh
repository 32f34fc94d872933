#!/bin/bash
# Inside the guest booted by vm_pyfile: homid owns QEMU's NVMe at 01:00.0
# through vfio and exports namespace 1 as /dev/ublkb0; the kernel mounts an
# XFS on it. The Python package (BUILD/python, -Dpython=yes) reads mounted
# files through their extents with many reads in flight, writes them
# through the kernel and reads the new bytes back through both paths
# (tests/vm/pyfile_guest.py).
# Usage: pyfile_guest.sh BUILD_DIR
build=$1
homid=$build/homid
here=$(dirname "$0")
. "$here/guest_lib.sh"
bdf=0000:01:00.0
sock=/tmp/homid.sock
log=/tmp/homid.log
mnt=/tmp/mnt
dev=/dev/ublkb0
mkdir -p $mnt

if [ ! -e "$build/python/aisio/__init__.py" ]; then
	fail "no Python package in $build/python: configure with -Dpython=yes"
	finish
fi
blk=$(blkdev_of $bdf) || { fail "no namespace on $bdf"; finish; }
sectors=$(cat "/sys/block/${blk#/dev/}/size")
first=2048
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
check "Python: extent reads in flight, pwrite through the kernel, read back both ways" \
	env PYTHONPATH="$build/python" PYTHONDONTWRITEBYTECODE=1 python3 "$here/pyfile_guest.py" \
	"homi:$sock,mode=mediated" $mnt
check "homid logged the fanotify invalidation of a written file" grep -q "changed: mapping gen" $log
check "homid still serves" kill -0 $hpid
umount $mnt
check "xfs_repair -n clean" xfs_repair -n $dev
kill -TERM $hpid
wait $hpid
finish
