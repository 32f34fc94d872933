#!/bin/sh
# The decoder through the user-space NVMe driver: the 'small' image behind the
# device model (emu:, 512-byte and 4 KiB LBAs) must give exactly the map that
# the kernel file path (file:, psync) gives, with reads kept in flight.
# Usage: run_emu.sh AISIO IMGDIR
set -u
here=$(dirname "$0")
python3 "$here/mkimage.py" "$1" "$2" small
rc=$?
[ $rc -eq 0 ] || exit $rc
img=$(mktemp) || exit 1
trap 'rm -f "$img" "$img.a" "$img.b" "$img.s"' EXIT
cp --sparse=always "$2/small.img" "$img"
size=$(stat -c %s "$img")
"$1" xfs bmap -r "file:$img" / > "$img.a" || { echo "FAIL: file: path"; exit 1; }
for lbads in 9 12; do
	"$1" xfs bmap -r -s "emu:$((size / 1048576))M,lbads=$lbads,file=$img" / > "$img.b" 2> "$img.s" ||
		{ echo "FAIL: emu path (lbads=$lbads): $(cat "$img.s")"; exit 1; }
	cat "$img.s"
	cmp -s "$img.a" "$img.b" || { echo "FAIL: emu (lbads=$lbads) map differs from file: map"; exit 1; }
	grep -q "max [2-9][0-9]* in flight\|max [1-9][0-9][0-9]* in flight" "$img.s" ||
		{ echo "FAIL: reads not kept in flight"; exit 1; }
done
echo "PASS: $(wc -l < "$img.a") entries, same map through emu (512 B and 4 KiB LBAs) and file:"
