#!/usr/bin/env bash
# Where the instructions of one I/O go: fio through the aisio engine, fio's
# own null engine (no device, no aisio) and 'aisio perf run', each on the same
# job (random reads on emu:1G,null), counted by callgrind in the thread that
# submits and reaps. Instruction counts do not depend on the machine's load,
# so this separates fio's framework from the engine where timed runs on a
# shared machine cannot (run.sh has the timed side).
#
#   bench/fio-engine/cost.sh [BUILD_DIR]        (default: build)
#
# Environment: NIOS (50000 I/Os per fio run; perf runs PERF_SECONDS, 8 s,
# under callgrind and is divided by the I/Os it reports), RUNS (3),
# CASES ("4k:128 4k:1").
# Writes bench/fio-engine/results-cost-<host>.md, and each run's split to
# results-cost-<host>.runs.txt; cg_fit.py there gives the work per I/O with the
# loop around empty polls taken out.
#
# Each case runs with fio's defaults and with fio's own lean options
# (LEAN below): commit in batches, reap up to the whole depth at once, and
# gettimeofday() reduced (no latency samples). Instructions spent waiting (a
# reap that finds nothing, sched_yield()) are counted apart (cg_split.py):
# both sides poll alike, and how often a poll is empty depends on how the
# device model's thread and the submitting thread interleave, which varies
# from run to run; hence RUNS runs of each and min / median / max.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
nios=${NIOS:-50000}
perf_s=${PERF_SECONDS:-8}
runs=${RUNS:-3}
cases=${CASES:-"4k:128 4k:1"}
host=$(hostname -s 2>/dev/null || echo host)
out=$here/results-cost-$host.md
runlog=$here/results-cost-$host.runs.txt   # each run's split, for cg_fit.py
engine=$build/fio/libaisio-fio.so
uri=emu:1G,null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v valgrind >/dev/null || { echo "cost.sh: valgrind is missing" >&2; exit 1; }
[ -f "$engine" ] || { echo "cost.sh: no fio engine in $build" >&2; exit 1; }

cg() { # TAG NIOS CMD...: callgrind CMD; prints cg_split.py's JSON
	local tag=$1 n=$2
	shift 2
	valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/$tag.%p" \
		"$@" >"$tmp/$tag.out" 2>"$tmp/$tag.err" || { cat "$tmp/$tag.err" >&2; return 1; }
	[ "$n" != perf ] || n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["ios"])' "$tmp/$tag.out")
	python3 "$here/cg_split.py" "$n" "$tmp/$tag".[0-9]*-*
}
field() { # JSON KEY...: a number from cg_split.py's output (0 when absent)
	python3 -c 'import json,sys
j = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    j = j.get(k, 0) if isinstance(j, dict) else 0
print(j)' "$@"
}

# med "JSON..." EXPR: min / median / max of EXPR (python, over j = each run's JSON)
med() {
	local expr=$1
	shift
	python3 -c 'import json,sys
v = sorted(eval(sys.argv[1], {}, {"j": json.loads(x)}) for x in sys.argv[2:])
f = "%.1f" if v[-1] < 10 else "%.0f"
print(" / ".join(f % x for x in (v[0], v[(len(v) - 1) // 2], v[-1])))' "$expr" "$@"
}
ours='j["parts"].get("engine",0)+j["parts"].get("libaisio",0)+j["parts"].get("model",0)+j["parts"].get("libc",0)-j["waiting"]'
: >"$runlog"
rows=""
for c in $cases; do
	bs=${c%%:*}
	qd=${c##*:}
	job=(--thread --name=bench --rw=randread --bs="$bs" --iodepth="$qd" --norandommap
		--number_ios="$nios" --size=1G --output=/dev/null)
	lean=(--iodepth_batch_submit="$qd" --iodepth_batch_complete_max="$qd" --gtod_reduce=1)
	perf=() edef=() elean=()
	for r in $(seq "$runs"); do
		perf+=("$(cg perf perf "$build/aisio" perf run --json --threads 1 --qdepth "$qd" --iosize "$bs" \
			--runtime "$perf_s" --iopattern randread "$uri")")
		edef+=("$(cg eng-def "$nios" fio --ioengine="external:$engine" --aisio_uri="$uri" "${job[@]}")")
		elean+=("$(cg eng-lean "$nios" fio --ioengine="external:$engine" --aisio_uri="$uri" "${job[@]}" "${lean[@]}")")
		{
			echo "$bs QD$qd run $r: perf ${perf[-1]}"
			echo "  fio+engine ${edef[-1]}"
			echo "  fio+engine lean ${elean[-1]}"
		} | tee -a "$runlog" >&2
		rm -f "$tmp"/*.*
	done
	# fio's null engine has no second thread: its count is the same every run.
	ndef=$(cg null-def "$nios" fio --ioengine=null "${job[@]}")
	nlean=$(cg null-lean "$nios" fio --ioengine=null "${job[@]}" "${lean[@]}")
	rm -f "$tmp"/*.*
	pw=$(med 'j["work"]' "${perf[@]}")
	pmed=$(echo "$pw" | cut -d/ -f2)
	for opts in default lean; do
		if [ $opts = default ]; then e=("${edef[@]}") n=$ndef; else e=("${elean[@]}") n=$nlean; fi
		ew=$(med 'j["work"]' "${e[@]}")
		ow=$(med "$ours" "${e[@]}")
		emed=$(echo "$ew" | cut -d/ -f2)
		omed=$(echo "$ow" | cut -d/ -f2)
		rows+="| $bs | $qd | $opts | $ew | $(med 'j["parts"]["program"]' "${e[@]}") | $ow |"
		rows+=" $(med 'j["parts"].get("engine",0)' "${e[@]}") | $(med 'j["waiting"]' "${e[@]}") |"
		rows+=" $(med 'j["empty_polls"]' "${e[@]}") |"
		rows+=" $(field "$n" total) | $pw | $(med 'j["waiting"]' "${perf[@]}") | $(med 'j["empty_polls"]' "${perf[@]}") |"
		rows+=" $(awk -v a="$pmed" -v b="$emed" 'BEGIN { printf "%.2f", a / b }') |"
		rows+=" $(awk -v a="$pmed" -v b="$omed" 'BEGIN { printf "%.2f", a / b }') |"$'\n'
	done
done

{
	echo "# Instructions per I/O: fio framework, aisio engine, aisio perf ($host, $(date -u +%Y-%m-%d))"
	echo
	echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(valgrind --version) (callgrind,"
	echo "instructions executed, Ir); $(fio --version); device: $uri; random reads, one job / thread."
	echo "fio runs: $nios I/Os each; aisio perf: $perf_s s under callgrind, divided by the I/Os it reports;"
	echo "$runs runs of each, min / median / max (fio's null engine: one run, its count does not vary)."
	echo "Counted in the thread that submits and reaps (the model's controller thread is left out on both sides)."
	echo "Command: bench/fio-engine/cost.sh (NIOS=$nios PERF_SECONDS=$perf_s RUNS=$runs CASES=\"$cases\")"
	echo
	echo "- fio options: 'default' is fio's defaults (commit after every I/O, reap one at a time, latency"
	echo "  samples); 'lean' adds --iodepth_batch_submit=QD --iodepth_batch_complete_max=QD --gtod_reduce=1."
	echo "- Work: all instructions of the thread less waiting (empty reaps and sched_yield(), shown apart)."
	echo "  The loop around each empty poll (some 20 instructions on either side) stays in work: compare"
	echo "  the empty polls per I/O before comparing work."
	echo "- fio framework: instructions in fio's own code; ours: the engine's glue, libaisio, the emu:"
	echo "  doorbell code the thread runs and the C library, less waiting; glue: fio/aisio_engine.c alone."
	echo "- perf / fio+engine (medians of work) is the IOPS-per-core ratio the counts predict for a"
	echo "  CPU-bound submitting thread; perf / ours the same if fio's framework cost nothing."
	echo
	echo "| bs | QD | fio options | fio+engine work Ir/IO | of which fio framework | of which ours | of which engine glue | fio+engine waiting | empty polls / IO | fio null engine Ir/IO | aisio perf work Ir/IO | perf waiting | perf empty polls / IO | perf / fio+engine | perf / ours |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	printf '%s' "$rows"
	echo
	echo "Work with the loop around empty polls taken out: a line work = W + c * empty polls through"
	echo "each case's runs (cg_fit.py results-cost-$host.runs.txt). With few empty polls and little"
	echo "spread in them (QD 128) the fit is loose; at QD 1 the runs lie on the line."
	echo
	python3 "$here/cg_fit.py" "$runlog"
} >"$out"
cat "$out"
