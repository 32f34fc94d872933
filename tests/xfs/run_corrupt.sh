#!/bin/sh
# Corruption tests on the 'small' image (built and cached by mkimage.py), and
# the CLI's behaviour on a corrupted image: non-zero exit and a message.
# Usage: run_corrupt.sh XFS_CORRUPT AISIO IMGDIR
set -u
here=$(dirname "$0")
python3 "$here/mkimage.py" "$2" "$3" small
rc=$?
[ $rc -eq 0 ] || exit $rc
"$1" "$3/small.img" "$3/small-dirty.img" || exit 1
bad=$(mktemp) || exit 1
trap 'rm -f "$bad"' EXIT
cp --sparse=always "$3/small.img" "$bad"
# Overwrite one byte of the root directory's inode (AG 0: byte = inode number * 512).
ino=$("$2" xfs stat "$bad" / | awk '/Inode:/ {print $2}')
[ -n "$ino" ] || { echo "FAIL: aisio xfs stat / gave no inode"; exit 1; }
printf '\x55' | dd of="$bad" bs=1 seek=$((ino * 512 + 60)) conv=notrunc status=none
out=$("$2" xfs bmap "$bad" /data 2>&1)
rc=$?
echo "aisio xfs bmap on a corrupted image: exit $rc: $out"
[ $rc -ne 0 ] || { echo "FAIL: exit status 0 on a corrupted image"; exit 1; }
echo "$out" | grep -q "corrupt XFS metadata" || { echo "FAIL: no message"; exit 1; }
out=$("$2" xfs find "$3/small-dirty.img" 2>&1)
rc=$?
echo "aisio xfs find on a dirty log: exit $rc: $out"
[ $rc -ne 0 ] || { echo "FAIL: dirty log accepted without -f"; exit 1; }
"$2" xfs find -f "$3/small-dirty.img" >/dev/null 2>&1 || echo "note: forced decode of the dirty image failed"
# A mounted file system is refused unless forced (then a warning).
mnt=$(mktemp -d) || exit 1
if mount -o loop,ro "$3/small.img" "$mnt" 2>/dev/null; then
	out=$("$2" xfs find "$3/small.img" 2>&1)
	rc=$?
	out2=$("$2" xfs find -f "$3/small.img" 2>&1 >/dev/null)
	rc2=$?
	umount "$mnt"
	rmdir "$mnt"
	echo "aisio xfs find on a mounted image: exit $rc: $out"
	echo "with -f: exit $rc2: $out2"
	[ $rc -ne 0 ] && echo "$out" | grep -q "is mounted" || { echo "FAIL: mounted image not refused"; exit 1; }
	[ $rc2 -eq 0 ] && echo "$out2" | grep -q "warning" || { echo "FAIL: forced read of a mounted image"; exit 1; }
else
	rmdir "$mnt"
	echo "note: cannot loop-mount here; mounted-image refusal not checked"
fi
echo PASS
