#!/usr/bin/env bash
# Reads through the extent service (docs/homi.md, "Extent service") on the
# device model: an mkfs.xfs -p image of the homi_extent dataset (34 files,
# 38.6 MB: 0 B .. 9 MiB) behind homid (emu:, file-backed, page-cached),
# read whole through aisio_file_read() on a homi: queue, direct and
# mediated. Reports the time to map a file (FILE_MAP through the decoder's
# index) and GB/s and files/s over REPS passes, min/median/max of RUNS runs.
#
#   bench/extent/run.sh [BUILD_DIR]     (default: build)
#
# Environment: RUNS (3), REPS (5), OUT (results file; default
# bench/extent/results-<host>.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runs=${RUNS:-3}
reps=${REPS:-5}
host=$(hostname -s)
out=${OUT:-$root/bench/extent/results-$host.md}
tool=$build/tests/vm/extent_tool
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
"$tool" gen "$tmp/src" "$tmp/proto" >"$tmp/paths"
truncate -s 128M "$tmp/img"
TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f -p "$tmp/proto" "$tmp/img"
"$build/homid" --foreground --socket "$tmp/sock" --ctrl "emu:128M,file=$tmp/img" 2>"$tmp/homid.log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/sock" ] && break; sleep 0.1; done
mmm() { sort -g | awk '{v[NR]=$1} END {printf "%s / %s / %s", v[1], v[int((NR+1)/2)], v[NR]}'; }
{
	echo "# bench/extent on $host ($(date -u +%Y-%m-%d), $(nproc) CPUs)"
	echo
	echo "Command: \`bench/extent/run.sh\` (RUNS=$runs, REPS=$reps); dataset: $(wc -l <"$tmp/paths") files,"
	echo "$(du -sb "$tmp/src" | cut -f1) bytes; homid --ctrl emu:128M,file=IMAGE (page-cached image)."
	echo
	echo "read: aisio_file_read_dma into DMA memory; read-copy: aisio_file_read into malloc'd memory."
	echo
	echo "| mode | call | map ms/file (min / median / max) | GB/s | files/s |"
	echo "|---|---|---|---|---|"
	for mode in direct mediated; do
		for call in read read-copy; do
			: >"$tmp/r"
			for _ in $(seq "$runs"); do
				# shellcheck disable=SC2046
				"$tool" $call "homi:$tmp/sock,mode=$mode" image / "$reps" $(cat "$tmp/paths") >>"$tmp/r"
			done
			echo "| $mode | $call | $(awk '/^map/ {print $4}' "$tmp/r" | mmm) |" \
				"$(awk '/^read/ {print $6}' "$tmp/r" | mmm) | $(awk '/^read/ {print $8}' "$tmp/r" | mmm) |"
			sed 's/^/    /' "$tmp/r" >&2
		done
	done
	echo
	echo "Ceiling in the same run: raw sequential 128 KiB reads, queue depth 8, through the same"
	echo "homid (\`aisio perf run --iopattern read --iosize 128k --qdepth 8 --size 24M --runtime 3\`),"
	echo "min / median / max MiB/s of $runs:"
	echo
	for mode in direct mediated; do
		: >"$tmp/p"
		for _ in $(seq "$runs"); do
			"$build/aisio" perf run --iopattern read --iosize 128k --qdepth 8 --size 24M \
				--runtime 3 --json "homi:$tmp/sock,mode=$mode" |
				python3 -c 'import json,sys; d=json.load(sys.stdin); t=d.get("total", d); print(t["mibps"])' >>"$tmp/p"
		done
		echo "- $mode: $(mmm <"$tmp/p") MiB/s"
	done
	echo
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (a shared $(nproc)-CPU machine)."
} | tee "$out"
