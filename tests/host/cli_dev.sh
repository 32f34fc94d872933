#!/usr/bin/env bash
# 'aisio dev list' and 'aisio dev identify' on a file through both kernel paths.
. "$(dirname "$0")/cli_lib.sh"
truncate -s 8M "$TDIR/a"

if "$AISIO" dev list >"$TDIR/out" 2>&1; then
	if ! ls /dev/nvme* /dev/ng* >/dev/null 2>&1 && ! grep -q "No NVMe devices" "$TDIR/out"; then
		fail "dev list on a machine without NVMe: $(cat "$TDIR/out")"
	else
		echo "ok: dev list: $(head -1 "$TDIR/out")"
	fi
else
	fail "dev list exited non-zero"
fi
"$AISIO" dev list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert "pci" in d' ||
	fail "dev list --json"
for be in psync io_uring; do
	if "$AISIO" dev identify --be $be "file:$TDIR/a" >"$TDIR/out" 2>&1 &&
		grep -q "^mn *: aisio file" "$TDIR/out" && grep -q "^nsze *: 16384 LBAs" "$TDIR/out"; then
		echo "ok: dev identify --be $be"
	else
		fail "dev identify --be $be: $(cat "$TDIR/out")"
	fi
	"$AISIO" dev identify --json --be $be "file:$TDIR/a" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ns"]["nsze"] == 16384 and d["geo"]["lba_size"] == 512 and d["ctrl"]["nn"] == 1, d
' || fail "dev identify --json --be $be"
done
finish
