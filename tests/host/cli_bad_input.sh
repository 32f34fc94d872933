#!/usr/bin/env bash
# Bad input to 'aisio perf', 'aisio dev' and 'aisio xfs' exits with the right
# status (2: usage, 1: failure) and a message naming the problem, and loses
# nothing: a query never creates, grows or touches a file.
. "$(dirname "$0")/cli_lib.sh"
f=$TDIR/data
truncate -s 4M "$f"

expect_fail 2 "--qdepth must be between 1 and 65535 (got 0)" perf run --qdepth 0 --runtime 1 "file:$f"
expect_fail 2 "--qdepth must be between 1 and 65535 (got 65536)" perf run --qdepth 65536 "file:$f"
expect_fail 2 "--qdepth: '-3' is not a number" perf run --qdepth -3 "file:$f"
expect_fail 1 "unknown URI scheme" perf run --runtime 1 bogus:thing
expect_fail 1 "unknown URI scheme" perf verify nvme://nowhere
expect_fail 1 "LBA beyond the end" perf run --runtime 1 --offset 3M --size 2M "file:$f"
expect_fail 1 "LBA beyond the end" perf verify --offset 8M "file:$f"
expect_fail 1 "no such file: $TDIR/nodir/missing" perf run --runtime 1 "file:$TDIR/nodir/missing"
expect_fail 1 "$TDIR/nodir/ns.img" perf run --runtime 1 "emu:64M,file=$TDIR/nodir/ns.img"
expect_fail 1 "$TDIR/nodir/ns.img" perf verify "emu:64M,file=$TDIR/nodir/ns.img"
expect_fail 2 "unknown pattern 'sideways'" perf run --iopattern sideways "file:$f"
expect_fail 2 "--rwmix must be between 0 and 100 (got 101)" perf run --rwmix 101 "file:$f"
expect_fail 1 "--iosize 1000 is not a multiple of the 512-byte LBA size" perf run --iosize 1000 --runtime 1 "file:$f"
expect_fail 2 "--iosize: 'lots' is not a size" perf run --iosize lots "file:$f"
expect_fail 2 "--offset: '-1' is not a size" perf run --offset -1 "file:$f"
expect_fail 2 "--size: '18446744073709551616' is too large" perf run --size 18446744073709551616 "file:$f"
expect_fail 2 "--runtime must be a positive number" perf run --runtime -1 "file:$f"
expect_fail 2 "CPU 9999 does not exist" perf run --cpus 9999 "file:$f"
expect_fail 1 "unknown backend 'warp'" perf run --be warp --runtime 1 "file:$f"
expect_fail 2 "unknown option '--frobnicate'" perf run --frobnicate "file:$f"
expect_fail 2 "no device given" perf run --runtime 1
expect_fail 2 "unknown subcommand 'launch'" perf launch "file:$f"
expect_fail 1 "is a character device" perf run --be psync --runtime 1 file:/dev/null
expect_fail 1 "unknown URI scheme" dev identify bogus:thing
expect_fail 1 "no such device: /dev/aisio-none0n1" dev identify /dev/aisio-none0n1

# Sizes in URIs: one parser, no sign, no overflow, nothing created.
for s in -1 "" 1Q 0x10 18446744073709551616 16E 0; do
	expect_fail 1 "bad size '$s'" dev identify "file:$TDIR/sz,size=$s"
	expect_fail 1 "bad size '$s'" perf run --iopattern write --runtime 1 "file:$TDIR/sz,size=$s"
	[ -e "$TDIR/sz" ] && fail "size=$s created $TDIR/sz"
done
expect_fail 1 "emu:-1: bad size '-1'" perf run --runtime 1 emu:-1
expect_fail 1 "emu:16E: bad size '16E'" perf run --runtime 1 emu:16E

# file: without a path: says so, suggests no command on an empty path.
expect_fail 1 "the path is missing" dev identify file:
expect_fail 1 "the path is missing" perf run --iopattern write --runtime 1 file:,size=1G
grep -q "truncate" "$TDIR/err" && fail "file:,size=1G suggests a command: $(cat "$TDIR/err")"

# A query never grows a file: identify with size=10G on a 4 MiB file.
touch -d @1000000000 "$f"
before=$(size_mtime "$f")
expect_fail 1 "holds 4194304 bytes, less than the 10737418240 of size=; left as it is" \
	dev identify "file:$f,size=10G"
[ "$(size_mtime "$f")" = "$before" ] || fail "identify changed $f: $before -> $(size_mtime "$f")"
expect_fail 1 "left as it is" perf run --runtime 1 --iopattern randread "file:$f,size=10G"
expect_fail 1 "left as it is" perf verify --only read --seed 1 "file:$f,size=10G"
[ "$(size_mtime "$f")" = "$before" ] || fail "a read workload changed $f: $before -> $(size_mtime "$f")"
expect_fail 1 "left as it is" xfs ls "file:$f,size=10G"
[ "$(size_mtime "$f")" = "$before" ] || fail "xfs ls changed $f: $before -> $(size_mtime "$f")"
# identify at the file's own size works and changes nothing.
"$AISIO" dev identify "file:$f" >"$TDIR/out" 2>&1 && grep -q "8192 LBAs of 512 B" "$TDIR/out" ||
	fail "identify file:$f: $(cat "$TDIR/out")"
[ "$(size_mtime "$f")" = "$before" ] || fail "identify changed $f"

# The same for the device model's backing file (emu:SIZE,file=PATH).
expect_fail 1 "emu: no such file: '$TDIR/emu-new.img'" dev identify "emu:1M,file=$TDIR/emu-new.img"
[ -e "$TDIR/emu-new.img" ] && fail "identify created $TDIR/emu-new.img"
expect_fail 1 "holds 4194304 bytes, less than the 10737418240 the namespaces need; left as it is" \
	dev identify "emu:10G,file=$f"
[ "$(size_mtime "$f")" = "$before" ] || fail "identify of emu:10G,file=$f changed it"
"$AISIO" dev identify "emu:4M,file=$f" >"$TDIR/out" 2>&1 || fail "identify emu:4M,file=$f: $(cat "$TDIR/out")"
[ "$(size_mtime "$f")" = "$before" ] || fail "identify of emu:4M,file=$f changed it"
"$AISIO" perf run --runtime 1 --iopattern randwrite "emu:2M,file=$TDIR/emu-new.img" >"$TDIR/out" 2>&1 &&
	[ "$(stat -c %s "$TDIR/emu-new.img")" = 2097152 ] ||
	fail "a write workload on emu:2M,file= did not create it: $(cat "$TDIR/out")"

# A read workload creates nothing; one that writes, or --create, does (as fio does).
expect_fail 1 "--create makes a sparse one" perf run --runtime 1 --be io_uring "file:$TDIR/new"
[ -e "$TDIR/new" ] && fail "a read workload created $TDIR/new"
if "$AISIO" perf run --runtime 1 --iopattern randwrite "file:$TDIR/new" >/dev/null 2>"$TDIR/err" &&
	grep -q "created it as a 1024 MiB sparse file" "$TDIR/err" &&
	[ "$(stat -c %s "$TDIR/new")" = 1073741824 ]; then
	echo "ok: a write workload creates a missing file"
else
	fail "perf run --iopattern randwrite on a missing file: $(cat "$TDIR/err")"
fi
if "$AISIO" perf run --runtime 1 --create "file:$TDIR/new2,size=8M" >/dev/null 2>"$TDIR/err" &&
	[ "$(stat -c %s "$TDIR/new2")" = 8388608 ]; then
	echo "ok: --create creates a missing file of size="
else
	fail "perf run --create: $(cat "$TDIR/err")"
fi
# ... and a write workload grows a smaller file to size=, and says so.
if "$AISIO" perf run --runtime 1 --iopattern write "file:$f,size=8M" >/dev/null 2>"$TDIR/err" &&
	grep -q "grew it from 4194304 to 8388608 bytes" "$TDIR/err" &&
	[ "$(stat -c %s "$f")" = 8388608 ]; then
	echo "ok: a write workload grows a file to size="
else
	fail "perf run --iopattern write size=8M: $(cat "$TDIR/err")"
fi

# The report shows the queue depth used, and the clamp is announced once.
if "$AISIO" perf run --runtime 0.5 --qdepth 65535 emu:64M >"$TDIR/out" 2>"$TDIR/err" &&
	grep -q "qdepth 1023," "$TDIR/out" && ! grep -q "65535" "$TDIR/out" &&
	[ "$(grep -c "qdepth 65535 limited to 1023" "$TDIR/err")" = 1 ]; then
	echo "ok: --qdepth 65535 -> header shows 1023, clamp announced once"
else
	fail "--qdepth 65535: $(cat "$TDIR/out" "$TDIR/err")"
fi
if "$AISIO" perf run --json --runtime 0.5 --qdepth 65535 emu:64M >"$TDIR/out" 2>"$TDIR/err" &&
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["qdepth"] == 1023 and d["qdepth_requested"] == 65535, d' "$TDIR/out" &&
	[ "$(grep -c "limited to 1023" "$TDIR/err")" = 1 ]; then
	echo "ok: --json --qdepth 65535 -> qdepth 1023, requested 65535"
else
	fail "--json --qdepth 65535: $(cat "$TDIR/out" "$TDIR/err")"
fi

# aisio xfs: queue depth range, and a path that names nothing.
for q in -3 999999 0 1k 0x10; do
	expect_fail 2 "-q/--qdepth must be a number from 1 to 1024 (got '$q')" xfs ls -q "$q" "$f"
done
expect_fail 1 "no such file: $TDIR/nonexistent.img" xfs ls "$TDIR/nonexistent.img"
grep -q "unknown URI scheme" "$TDIR/err" && fail "xfs ls on a missing path: $(cat "$TDIR/err")"

# The GPU subcommands: exit 2 in a build without CUDA, 1 with a clear reason without a GPU.
if [ "${AISIO_HAVE_CUDA:-}" = 0 ]; then
	expect_fail 2 "built without CUDA support" perf cuda-run "file:$f"
elif command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
	echo "note: a GPU is present; perf cuda-run is tested by the gpu suite"
else
	expect_fail 1 "no usable GPU" perf cuda-run "file:$f"
fi
finish
