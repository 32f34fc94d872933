#!/usr/bin/env bash
# 'aisio perf verify' finds 0 mismatches on a file through every kernel path
# and setting, and a stamp written by one path reads back through another.
# cli_verify.sh AISIO direct: the O_DIRECT settings alone; exit 77 (skip) when
# the scratch directory's file system has no O_DIRECT.
. "$(dirname "$0")/cli_lib.sh"
f=$TDIR/data
truncate -s 16M "$f"

run() {
	if "$AISIO" perf verify "$@" >"$TDIR/out" 2>&1 && grep -q " 0 mismatches" "$TDIR/out"; then
		echo "ok: verify $*"
	else
		fail "verify $*: $(cat "$TDIR/out")"
	fi
}
if [ "${2:-}" = direct ]; then
	if ! "$AISIO" perf verify --be io_uring --direct --size 1M "file:$f" >"$TDIR/out" 2>&1 &&
		grep -q "O_DIRECT is not supported by the file system" "$TDIR/out"; then
		echo "skip: $(head -1 "$TDIR/out")"
		exit 77
	fi
	run --be io_uring --direct "file:$f"
	run --be psync --direct "file:$f"
	run --be io_uring --direct --no-fixed --qdepth 4 --iosize 4k "file:$f"
	run --be psync --direct --iosize 4k --offset 1M --size 1M "file:$f"
	finish
fi
run --be psync "file:$f"
run --be io_uring "file:$f"
run --be io_uring --no-fixed --qdepth 4 --iosize 4k "file:$f"
run --be psync --iosize 512 --offset 1M --size 1M "file:$f"
# Write with one path, read with the other.
"$AISIO" perf verify --be io_uring --only write --seed 77 "file:$f" >"$TDIR/out" 2>&1 &&
	echo "ok: verify --only write" || fail "verify --only write: $(cat "$TDIR/out")"
run --be psync --only read --seed 77 "file:$f"
# A wrong seed is caught: every LBA mismatches and the exit status is 1.
"$AISIO" perf verify --be psync --only read --seed 78 --size 64k "file:$f" >"$TDIR/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q " 128 mismatches" "$TDIR/out" && grep -q "lost write" "$TDIR/out"; then
	echo "ok: wrong seed -> 128 mismatches, exit 1"
else
	fail "wrong seed: exit $rc: $(cat "$TDIR/out")"
fi
finish
