#!/usr/bin/env bash
# fio through the aisio engine against 'aisio perf run' on the same device and
# job: the null device model (emu:1G,null), random reads, one job / thread,
# in the same run. Reports each side's IOPS over RUNS runs (min/median/max)
# and the ratio of the medians (fio+engine / aisio perf); fio's own null engine
# on the same job (no device at all) shows what fio costs by itself. fio runs
# twice per case: with its defaults and with its lean options (LEAN: commit in
# batches, reap up to the depth at once, no latency samples).
# cost.sh counts the instructions behind these numbers.
#
#   bench/fio-engine/run.sh [BUILD_DIR]        (default: build)
#
# Environment: RUN_SECONDS (3), RUNS (3), CASES ("4k:128 512:1": BS:QD pairs),
# NO_BUILD=1 (use the binaries in BUILD_DIR as they are, e.g. copied to another machine).
# Writes bench/fio-engine/results-<host>.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
seconds=${RUN_SECONDS:-3}
runs=${RUNS:-3}
cases=${CASES:-"4k:128 512:1"}
uri=emu:1G,null
host=$(hostname -s)
out=$root/bench/fio-engine/results-$host.md
engine=$build/fio/libaisio-fio.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v fio >/dev/null || { echo "run.sh: fio is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
if [ -z "${NO_BUILD:-}" ]; then
	ninja -C "$build" aisio >/dev/null
	ninja -C "$build" fio/libaisio-fio.so >/dev/null 2>&1 ||
		{ echo "run.sh: the fio engine is not built in $build (scripts/fio-source.sh $build/fio-src says why)" >&2; exit 1; }
fi

fio_iops() { # fio options...: one run of the job; prints the read IOPS
	fio --thread --name=bench --rw=randread --time_based --runtime="$seconds" --norandommap \
		--output-format=json --output="$tmp/fio.json" "$@" >/dev/null
	python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["jobs"][0]["read"]["iops"])' "$tmp/fio.json"
}
stats() { # values... -> "min median max"
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.0f %.0f %.0f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

rows=""
for c in $cases; do
	bs=${c%%:*}
	qd=${c##*:}
	fio_v=() perf_v=() null_v=() lfio_v=() lnull_v=()
	lean=(--iodepth_batch_submit="$qd" --iodepth_batch_complete_max="$qd" --gtod_reduce=1)
	for r in $(seq "$runs"); do
		fio_v+=("$(fio_iops --ioengine="external:$engine" --aisio_uri="$uri" --bs="$bs" --iodepth="$qd")")
		null_v+=("$(fio_iops --ioengine=null --size=1G --bs="$bs" --iodepth="$qd")")
		lfio_v+=("$(fio_iops --ioengine="external:$engine" --aisio_uri="$uri" --bs="$bs" --iodepth="$qd" "${lean[@]}")")
		lnull_v+=("$(fio_iops --ioengine=null --size=1G --bs="$bs" --iodepth="$qd" "${lean[@]}")")
		"$build/aisio" perf run --json --threads 1 --qdepth "$qd" --iosize "$bs" --runtime "$seconds" \
			--iopattern randread "$uri" >"$tmp/perf.json"
		perf_v+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["iops"])' "$tmp/perf.json")")
		echo "$bs QD$qd run $r: aisio perf ${perf_v[-1]}; fio+engine ${fio_v[-1]}, lean ${lfio_v[-1]};" \
			"fio null ${null_v[-1]}, lean ${lnull_v[-1]} IOPS"
	done
	read -r pmin pmed pmax <<<"$(stats "${perf_v[@]}")"
	for opts in default lean; do
		if [ $opts = default ]; then f=("${fio_v[@]}") n=("${null_v[@]}"); else f=("${lfio_v[@]}") n=("${lnull_v[@]}"); fi
		read -r fmin fmed fmax <<<"$(stats "${f[@]}")"
		read -r nmin nmed nmax <<<"$(stats "${n[@]}")"
		ratio=$(awk -v a="$fmed" -v b="$pmed" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
		rows+="| $bs | $qd | $opts | $fmin / $fmed / $fmax | $pmin / $pmed / $pmax | $ratio | $nmin / $nmed / $nmax |"$'\n'
	done
done

{
	echo "# fio engine vs aisio perf ($host, $(date -u +%Y-%m-%d))"
	echo
	echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo "fio: $(fio --version); device: $uri (one in-process device model per run); random reads;"
	echo "one fio job (--thread) vs 'aisio perf run --threads 1'; $seconds s per run, $runs runs each, interleaved."
	echo "Command: bench/fio-engine/run.sh (RUN_SECONDS=$seconds RUNS=$runs CASES=\"$cases\")"
	echo
	echo "fio options: 'default' is fio's defaults; 'lean' adds --iodepth_batch_submit=QD"
	echo "--iodepth_batch_complete_max=QD --gtod_reduce=1 (to the engine and to the null engine alike)."
	echo
	echo "| bs | QD | fio options | fio+engine IOPS min / median / max | aisio perf IOPS min / median / max | median ratio | fio null engine (no device) |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s' "$rows"
} >"$out"
cat "$out"
