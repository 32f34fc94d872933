#!/usr/bin/env bash
# aisio fil end to end on this machine: a small dataset made by fil gen is read
# back over posix and io_uring from its directory, and over the XFS decoder
# (homi path) from an image made with mkfs.xfs -p and served by the device
# model; every byte is checked. A byte corrupted in the image or in the
# directory is reported with its file and offset; bad input gets clear errors.
# Usage: run_fil.sh AISIO
. "$(dirname "$0")/../host/cli_lib.sh"
command -v mkfs.xfs >/dev/null || {
	echo "mkfs.xfs not installed (xfsprogs)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
}
mkimg() { # mkimg PROTO IMG: a 64 MiB XFS image filled from a prototype, without mounting
	rm -f "$2"
	truncate -s 64M "$2" &&
		TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -p "$1" "$2" 2>"$TDIR/mkfs.err" ||
		{ fail "mkfs.xfs -p $1: $(cat "$TDIR/mkfs.err")"; return 1; }
}
# flip FILE OFFSET: invert one byte in place
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
jget() { grep -o "\"$1\":[^,}]*" "$2" | head -1 | cut -d: -f2- | tr -d '"'; }

# run_ok NAME WANT_UNITS ARGS...: fil run --json passes, all files and bytes, the path counted
run_ok() {
	local name=$1 units=$2
	shift 2
	if ! "$AISIO" fil run --json "$@" >"$TDIR/$name.json" 2>"$TDIR/$name.err"; then
		fail "$name: aisio fil run $* failed: $(cat "$TDIR/$name.err")"
		return
	fi
	local v files bytes reads
	v=$(jget verify "$TDIR/$name.json")
	files=$(jget files "$TDIR/$name.json")
	bytes=$(jget bytes "$TDIR/$name.json")
	reads=$(grep -o '"reads":[0-9]*' "$TDIR/$name.json" | cut -d: -f2 | awk '{n += $1} END {print n}')
	if [ "$v" != ok ] || [ "$files" != "$NFILES" ] || [ "$bytes" != "$NBYTES" ]; then
		fail "$name: verify=$v files=$files bytes=$bytes, want ok $NFILES $NBYTES"
	elif [ "$reads" != "$units" ]; then
		fail "$name: $reads reads served, want $units: $(cat "$TDIR/$name.json")"
	else
		echo "ok: $name: $NFILES files, $NBYTES bytes verified, $reads reads: $(grep -o '"served":{[^}]*}}' "$TDIR/$name.json")"
	fi
}

DS=$TDIR/ds
"$AISIO" fil gen --profile small --files 300 --seed 7 --protofile "$TDIR/ds.proto" "$DS" >/dev/null ||
	{ fail "fil gen"; finish; }
NFILES=$(sed -n 's/^files //p' "$DS/.aisio-fil")
NBYTES=$(sed -n 's/^bytes //p' "$DS/.aisio-fil")
[ "$NFILES" = 300 ] || fail "manifest says $NFILES files, want 300"
[ "$(find "$DS" -type f -name '*.bin' | wc -l)" = 300 ] || fail "fil gen did not write 300 files"
# 4 KiB chunks: every file of 4-16 KiB is 1 to 4 units
UNITS4K=$(awk 'NR>5 {n += int(($1 + 4095) / 4096)} END {print n}' "$DS/.aisio-fil")

run_ok posix 300 --path posix "$DS"
run_ok posix_4k "$UNITS4K" --path posix --chunk 4K --threads 3 "$DS"
if [ "${AISIO_HAVE_URING:-1}" = 1 ]; then
	run_ok io_uring 300 --path io_uring --qd 8 "$DS"
	run_ok io_uring_4k "$UNITS4K" --path io_uring --chunk 4K --qd 32 "$DS"
fi
IMG=$TDIR/ds.img
mkimg "$TDIR/ds.proto" "$IMG"
run_ok homi_file 300 --path homi "$IMG"
run_ok homi_emu512 300 --path homi --threads 2 "emu:64M,file=$IMG"
run_ok homi_emu4k "$UNITS4K" --path homi --chunk 4K --qd 8 "emu:64M,lbads=12,file=$IMG"
grep -q '"homi:xfs-decoder/upci"' "$TDIR/homi_emu512.json" ||
	fail "homi over emu: not served by the decoder and the user-space driver: $(cat "$TDIR/homi_emu512.json")"

# Two directory levels (imagenet layout) through the prototype.
"$AISIO" fil gen --profile imagenet --files 1310 --size 2K --protofile "$TDIR/in.proto" "$TDIR/in" >/dev/null ||
	fail "fil gen imagenet"
mkimg "$TDIR/in.proto" "$TDIR/in.img"
[ "$("$AISIO" xfs ls "$TDIR/in.img" /train | wc -l)" = 2 ] || fail "imagenet image: /train should hold c0000 and c0001"
NFILES=1310 NBYTES=$((1310 * 2048)) run_ok homi_imagenet 1310 --path homi "emu:64M,file=$TDIR/in.img"

# A corrupted byte in the image: found, with the file and the offset.
victim=$(sed -n 16p "$DS/.aisio-fil" | cut -d' ' -f2)
devoff=$("$AISIO" xfs bmap -r "$IMG" "/$victim" | cut -f4 | cut -d, -f3)
if [ -z "$devoff" ]; then
	fail "no extent for /$victim"
else
	cp "$IMG" "$TDIR/bad.img"
	flip "$TDIR/bad.img" $((devoff + 1234))
	expect_fail 1 "verify: $victim at offset 1234:" fil run --path homi "emu:64M,file=$TDIR/bad.img"
	"$AISIO" fil run --path homi --json "$TDIR/bad.img" >"$TDIR/bad.json" 2>/dev/null
	grep -q "\"mismatch\":{\"file\":\"$victim\",\"offset\":1234," "$TDIR/bad.json" ||
		fail "--json does not name the mismatch: $(cat "$TDIR/bad.json")"
fi
# ... and in the directory, over posix and io_uring.
cp -a "$DS" "$TDIR/dsbad"
flip "$TDIR/dsbad/$victim" 4000
expect_fail 1 "verify: $victim at offset 4000:" fil run --path posix "$TDIR/dsbad"
[ "${AISIO_HAVE_URING:-1}" = 1 ] && expect_fail 1 "verify: $victim at offset 4000:" fil run --path io_uring "$TDIR/dsbad"

# Bad input: a clear message, exit 1 (the operation) or 2 (usage).
expect_fail 1 "No such file or directory" fil run --path posix "$TDIR/none"
mkdir "$TDIR/empty"
expect_fail 1 "is not a fil dataset" fil run --path posix "$TDIR/empty"
expect_fail 1 "is not a directory" fil run --path posix "$IMG"
head -c 16M /dev/zero >"$TDIR/zero.img"
expect_fail 1 "not readable as XFS: not an XFS file system" fil run --path homi "$TDIR/zero.img"
printf '/dev/null\n0 0\nd--755 0 0\n$\n' >"$TDIR/plain.proto"
mkimg "$TDIR/plain.proto" "$TDIR/plain.img"
expect_fail 1 "is not a fil dataset" fil run --path homi "$TDIR/plain.img"
expect_fail 1 "is a directory" fil run --path homi "$DS"
cp -a "$DS" "$TDIR/dsshort"
truncate -s 100 "$TDIR/dsshort/$victim"
expect_fail 1 "$victim: short file: ends at byte 100" fil run --path posix "$TDIR/dsshort"
[ "${AISIO_HAVE_URING:-1}" = 1 ] && expect_fail 1 "short file" fil run --path io_uring "$TDIR/dsshort"
printf 'aisio-fil 1\nprofile small\nseed 1\nfiles 2\nbytes 10\n10 a\n' >"$TDIR/empty/.aisio-fil"
expect_fail 1 "file count or byte total differs" fil run --path posix "$TDIR/empty"
expect_fail 2 "--chunk must be" fil run --path posix --chunk 1000 "$DS"
expect_fail 2 "unknown path 'nfs'" fil run --path nfs "$DS"
expect_fail 2 "kvikio is a peer" fil run --path kvikio "$DS"
expect_fail 2 "--mem gpu does not go with --path posix" fil run --path posix --mem gpu "$DS"
expect_fail 1 "already holds a dataset" fil gen --profile small --files 3 "$DS"
mkdir "$TDIR/other" && touch "$TDIR/other/keep"
expect_fail 1 "is not empty" fil gen --profile small --files 3 "$TDIR/other"
[ -z "$(find "$TDIR/other" -newer "$TDIR/other/keep" ! -path "$TDIR/other")" ] || fail "fil gen wrote into a directory it refused"
expect_fail 2 "--profile must be imagenet, small or checkpoint" fil gen --profile huge --files 3 "$TDIR/x"
expect_fail 2 "--files N" fil gen --profile small "$TDIR/x"
finish
