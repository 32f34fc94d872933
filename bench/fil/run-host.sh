#!/usr/bin/env bash
# The host-memory part of bench/fil: aisio fil run over posix, io_uring and
# homi (extents from the XFS decoder, data through the device model's queues,
# emu:...,file=IMG) on page-cached datasets, ROUNDS rounds each, every byte
# verified; JSON results and a min/median/max summary under $OUT.
# From a checkout root:  OUT=bench/fil/results-NAME bench/fil/run-host.sh [BUILD_DIR]
# Sizes: BIG (one checkpoint file, default 1G), NSMALL files of 128 KiB
# (default 5000), THREADS (default: CPUs, at most 4).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
AISIO=$B/aisio
OUT=${OUT:-/tmp/fil-host}
ROUNDS=${ROUNDS:-3}
BIG=${BIG:-1G}
NSMALL=${NSMALL:-5000}
NP=$(nproc)
THREADS=${THREADS:-$((NP < 4 ? NP : 4))}
D=${DATA:-$(mktemp -d /var/tmp/filbench-XXXXXX)}
trap 'rm -rf "$D"' EXIT
mkdir -p "$OUT/raw"
rm -f "$OUT"/raw/aisio-*.json
{
	echo "host $(hostname): $NP CPUs,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -g | awk '/Mem:/ {print $2}') GiB"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	uname -r
	git log -1 --format='commit %H' 2>/dev/null
	echo "BIG=$BIG NSMALL=$NSMALL THREADS=$THREADS ROUNDS=$ROUNDS data in $D"
} | tee "$OUT/machine.txt"

"$AISIO" fil gen --profile checkpoint --files 1 --size "$BIG" --protofile "$D/big.proto" "$D/big" || exit 1
"$AISIO" fil gen --profile small --files "$NSMALL" --size 128K --protofile "$D/small.proto" "$D/small" || exit 1
for s in big small; do
	# image size: the data, its metadata, the log, with room to spare; one AG, because
	# mkfs.xfs 6.1 -p writes a file larger than an AG over the next AG's headers and the log
	mb=$(( $(sed -n 's/^bytes //p' "$D/$s/.aisio-fil") / 1048576 * 11 / 10 + 128 ))
	truncate -s "${mb}M" "$D/$s.img"
	TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -d agcount=1 -p "$D/$s.proto" "$D/$s.img" || exit 1
	eval "${s}_mb=$mb"
done
# warm the page cache (files and images)
cat "$D"/big/* "$D"/small/*/* "$D"/*.img >/dev/null

host_case() { # CASE ARGS...
	local c=$1
	shift
	for r in $(seq 1 "$ROUNDS"); do
		"$AISIO" fil run --json "$@" >"$OUT/raw/aisio-$c-r$r.json" 2>"$OUT/raw/aisio-$c-r$r.err" ||
			echo "$c round $r failed: $(tail -2 "$OUT/raw/aisio-$c-r$r.err")"
		echo "$c r$r: $(grep -o '"gb_per_s":[0-9.]*\|"files_per_s":[0-9.]*\|"verify":"[a-z]*"' "$OUT/raw/aisio-$c-r$r.json" | tr '\n' ' ')"
	done
}
host_case big-posix-1M --path posix --threads "$THREADS" --chunk 1M "$D/big"
host_case big-uring-1M --path io_uring --threads "$THREADS" --chunk 1M --qd 8 "$D/big"
host_case big-homi-emu-1M --path homi --threads "$THREADS" --chunk 1M --qd 8 "emu:${big_mb}M,file=$D/big.img"
host_case small-posix --path posix --threads "$THREADS" "$D/small"
host_case small-uring --path io_uring --threads "$THREADS" --qd 16 "$D/small"
host_case small-homi-emu --path homi --threads "$THREADS" --qd 16 "emu:${small_mb}M,file=$D/small.img"
host_case small-homi-file --path homi --threads "$THREADS" --qd 16 "$D/small.img"
find "$OUT/raw" -name '*.err' -empty -delete
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
python3 bench/fil/summarize.py "$OUT" | tee "$OUT/summary.md"
