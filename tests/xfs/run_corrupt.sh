#!/bin/sh
# Corruption tests on the 'small' image (built and cached by mkimage.py), and
# the CLI's behaviour on a corrupted image: non-zero exit and a message.
# Usage: run_corrupt.sh XFS_CORRUPT AISIO IMGDIR
#        run_corrupt.sh --mounted AISIO IMGDIR   a mounted image is refused unless forced
set -u
here=$(dirname "$0")
mounted=0
if [ "$1" = --mounted ]; then
	mounted=1
fi
python3 "$here/mkimage.py" "$2" "$3" small
rc=$?
[ $rc -eq 0 ] || exit $rc

if [ $mounted -eq 1 ]; then
	# mkimage.py loop-mounts to build the image, so a root that can build
	# it can mount it; without root the check cannot run (a skip, not a pass).
	if [ "$(id -u)" -ne 0 ]; then
		echo "skip: loop-mounting needs root"
		exit 77
	fi
	mnt=$(mktemp -d) || exit 1
	if ! mount -o loop,ro "$3/small.img" "$mnt"; then
		rmdir "$mnt"
		echo "FAIL: cannot loop-mount $3/small.img although mkimage.py could"
		exit 1
	fi
	out=$("$2" xfs find "$3/small.img" 2>&1)
	rc=$?
	out2=$("$2" xfs find -f "$3/small.img" 2>&1 >/dev/null)
	rc2=$?
	umount "$mnt"
	rmdir "$mnt"
	echo "aisio xfs find on a mounted image: exit $rc: $out"
	echo "with -f: exit $rc2: $out2"
	[ $rc -eq 1 ] && echo "$out" | grep -q "is mounted on $mnt" ||
		{ echo "FAIL: mounted image not refused with exit 1 and the mount point"; exit 1; }
	[ $rc2 -eq 0 ] && echo "$out2" | grep -q "warning: .* is mounted on $mnt; reading it anyway" ||
		{ echo "FAIL: forced read of a mounted image: no exit 0 with a warning"; exit 1; }
	echo PASS
	exit 0
fi

"$1" "$3/small.img" "$3/small-dirty.img" || exit 1
bad=$(mktemp) || exit 1
err=$(mktemp) || exit 1
trap 'rm -f "$bad" "$err"' EXIT
cp --sparse=always "$3/small.img" "$bad"
# Overwrite one byte of the root directory's inode (AG 0: byte = inode number * 512).
ino=$("$2" xfs stat "$bad" / | awk '/Inode:/ {print $2}')
[ -n "$ino" ] || { echo "FAIL: aisio xfs stat / gave no inode"; exit 1; }
printf '\x55' | dd of="$bad" bs=1 seek=$((ino * 512 + 60)) conv=notrunc status=none
out=$("$2" xfs bmap "$bad" /data 2>&1)
rc=$?
echo "aisio xfs bmap on a corrupted image: exit $rc: $out"
[ $rc -eq 1 ] || { echo "FAIL: exit status $rc on a corrupted image, expected 1"; exit 1; }
echo "$out" | grep -q "corrupt XFS metadata" || { echo "FAIL: no message"; exit 1; }
out=$("$2" xfs find "$3/small-dirty.img" 2>&1)
rc=$?
echo "aisio xfs find on a dirty log: exit $rc: $out"
[ $rc -eq 1 ] || { echo "FAIL: dirty log accepted without -f (exit $rc)"; exit 1; }
echo "$out" | grep -q "the log is dirty" || { echo "FAIL: dirty log refused without saying why"; exit 1; }
# Forced: decodes (the metadata on disk, stale as it may be), exit 0, and warns.
out=$("$2" xfs find -f "$3/small-dirty.img" 2>"$err")
rc=$?
echo "aisio xfs find -f on a dirty log: exit $rc, $(echo "$out" | wc -l) paths: $(cat "$err")"
[ $rc -eq 0 ] || { echo "FAIL: forced decode of the dirty image failed (exit $rc)"; exit 1; }
[ "$(echo "$out" | head -1)" = / ] || { echo "FAIL: forced decode listed no root: $out"; exit 1; }
grep -q "warning: the log is dirty" "$err" || { echo "FAIL: forced decode of a dirty log did not warn"; exit 1; }
echo PASS
