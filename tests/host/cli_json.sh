#!/usr/bin/env bash
# 'aisio perf run --json' prints JSON with a non-zero total IOPS on every
# kernel path, and the table names each device and the total.
. "$(dirname "$0")/cli_lib.sh"
truncate -s 16M "$TDIR/a" "$TDIR/b"

check_json() {
	if "$AISIO" perf run --json --runtime 1 "$@" >"$TDIR/out" 2>"$TDIR/err" &&
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["total"]
assert t["iops"] > 0 and t["failed"] == 0, t
assert len(d["devices"]) == int(sys.argv[2]), d["devices"]
for k in ("p50", "p99", "p99.9"):
    assert t["lat_us"][k] > 0, t
assert d["cpu"]["ns_per_io"] > 0
print("ok: %.0f IOPS" % t["iops"], end=" ")
' "$TDIR/out" "$NDEV"; then
		echo "perf run --json $*"
	else
		fail "perf run --json $*: $(cat "$TDIR/out" "$TDIR/err")"
	fi
}
NDEV=1 check_json --be psync "file:$TDIR/a"
NDEV=1 check_json --be io_uring "file:$TDIR/a"
NDEV=1 check_json --be io_uring --iopattern randrw --rwmix 70 --iosize 8k "file:$TDIR/a"
NDEV=2 check_json --be io_uring --threads 2 --nqueues 2 --iopattern write "file:$TDIR/a" "file:$TDIR/b"
NDEV=1 check_json --be psync --cpus 0 --iopattern read "file:$TDIR/a"

"$AISIO" perf run --runtime 1 --be io_uring "file:$TDIR/a" "file:$TDIR/b" >"$TDIR/out" 2>&1
if grep -q "^file:$TDIR/a .*io_uring" "$TDIR/out" && grep -q "^total " "$TDIR/out" &&
	grep -q "p99.9" "$TDIR/out"; then
	echo "ok: table"
else
	fail "table: $(cat "$TDIR/out")"
fi
finish
