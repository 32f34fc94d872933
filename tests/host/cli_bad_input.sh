#!/usr/bin/env bash
# Bad input to 'aisio perf' and 'aisio dev' exits non-zero with a message naming the problem.
. "$(dirname "$0")/cli_lib.sh"
f=$TDIR/data
truncate -s 4M "$f"

expect_fail "--qdepth" perf run --qdepth 0 --runtime 1 "file:$f"
expect_fail "unknown URI scheme" perf run --runtime 1 bogus:thing
expect_fail "unknown URI scheme" perf verify nvme://nowhere
expect_fail "LBA beyond the end" perf run --runtime 1 --offset 3M --size 2M "file:$f"
expect_fail "LBA beyond the end" perf verify --offset 8M "file:$f"
expect_fail "no such file" perf run --runtime 1 "file:$TDIR/nodir/missing"
# A file that is not there yet is created, as fio does.
if "$AISIO" perf run --runtime 1 --be io_uring "file:$TDIR/new" >/dev/null 2>"$TDIR/err" &&
	grep -q "created it" "$TDIR/err" && [ -f "$TDIR/new" ]; then
	echo "ok: perf run creates a missing file"
else
	fail "perf run on a missing file: $(cat "$TDIR/err")"
fi
expect_fail "$TDIR/nodir/ns.img" perf run --runtime 1 "emu:64M,file=$TDIR/nodir/ns.img"
expect_fail "$TDIR/nodir/ns.img" perf verify "emu:64M,file=$TDIR/nodir/ns.img"
expect_fail "unknown pattern" perf run --iopattern sideways "file:$f"
expect_fail "--rwmix" perf run --rwmix 101 "file:$f"
expect_fail "not a multiple" perf run --iosize 1000 --runtime 1 "file:$f"
expect_fail "not a size" perf run --iosize lots "file:$f"
expect_fail "--runtime" perf run --runtime -1 "file:$f"
expect_fail "CPU" perf run --cpus 9999 "file:$f"
expect_fail "unknown backend" perf run --be warp --runtime 1 "file:$f"
expect_fail "unknown option" perf run --frobnicate "file:$f"
expect_fail "no device given" perf run --runtime 1
expect_fail "unknown subcommand" perf launch "file:$f"
expect_fail "character device" perf run --be psync --runtime 1 file:/dev/null
expect_fail "unknown URI scheme" dev identify bogus:thing

# The GPU subcommands: absent in a build without CUDA.
"$AISIO" perf cuda-run "file:$f" >"$TDIR/out" 2>"$TDIR/err"
rc=$?
if grep -q "built without CUDA support" "$TDIR/err"; then
	[ $rc -eq 2 ] && echo "ok: perf cuda-run -> exit 2 without CUDA" ||
		fail "perf cuda-run without CUDA exited $rc, expected 2"
fi
finish
