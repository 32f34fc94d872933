#!/usr/bin/env bash
# bench/kernel-paths: aisio's kernel backends side by side with fio, in the
# same run, with the same job on the same target (same file, pattern, I/O
# size and queue depth): aisio io_uring vs fio io_uring, aisio psync vs fio
# psync, and in the QEMU guest aisio uring_cmd vs fio io_uring_cmd.
# Reports IOPS, CPU time per I/O (aisio: getrusage; fio: usr+sys) and the
# ratios aisio/fio, and writes results-<host>.md next to this script.
#
# Usage: bench/kernel-paths/run.sh [TARGET]
#   TARGET  a file (default: a 1 GiB file under /var/tmp, written first),
#           or /dev/nvmeXnY; with /dev/ngXnY the passthrough pair runs too.
# Environment: AISIO (default build/aisio), RUNTIME (s, default 5),
#   QDEPTH (32), IOSIZE (4k), PATTERNS ("randread randwrite"), MODES
#   ("buffered direct"), REPEAT (3: medians of that many runs of each tool,
#   alternating which goes first), OUT (results file).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AISIO=${AISIO:-$root/build/aisio}
RUNTIME=${RUNTIME:-5}
QDEPTH=${QDEPTH:-32}
IOSIZE=${IOSIZE:-4k}
PATTERNS=${PATTERNS:-randread randwrite}
MODES=${MODES:-buffered direct}
host=$(hostname -s 2>/dev/null || echo host)
[ "$host" = "(none)" ] && host=guest
OUT=${OUT:-$here/results-$host.md}
target=${1:-}
ng=

command -v fio >/dev/null || { echo "fio is not installed (apt-get install fio)" >&2; exit 1; }
[ -x "$AISIO" ] || { echo "no aisio at $AISIO: run 'make' first" >&2; exit 1; }

if [ -z "$target" ]; then
	target=/var/tmp/aisio-kpath-bench.img
	if [ ! -f "$target" ] || [ "$(stat -c %s "$target")" -ne $((1 << 30)) ]; then
		echo "writing a 1 GiB test file $target" >&2
		dd if=/dev/urandom of="$target" bs=1M count=1024 status=none conv=fsync
	fi
fi
case "$target" in
/dev/ng*) ng=$target; target=/dev/nvme${target#/dev/ng} ;;
esac
[ -e "$target" ] || { echo "no such target: $target" >&2; exit 1; }
if [ -b "$target" ]; then
	uri=$target
	MODES=direct # block devices: O_DIRECT only (the page cache would hide the device)
else
	uri=file:$target
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# aisio_json FILE -> "iops ns_per_io"
aisio_nums() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["total"]
assert t["failed"] == 0, t
print("%.0f %.0f" % (t["iops"], d["cpu"]["ns_per_io"]))' "$1"
}

# fio_nums FILE -> "iops ns_per_io" (usr_cpu and sys_cpu are percent of the job's runtime)
fio_nums() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
j = d["jobs"][0]
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
rt = j["job_runtime"] / 1000.0
cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * rt
print("%.0f %.0f" % (ios / rt, cpu * 1e9 / ios if ios else 0))' "$1"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)

# fio batches the way aisio perf does on its io_uring paths (be_io_uring.c,
# be_uring_cmd.c, tools/aisio/perf_run.c): every command prepared since the
# last submit goes in with one io_uring_enter (a batch of up to QDEPTH:
# as many as the last reap completed); a reap waits for at least one
# completion when none is ready, then takes every completion that is ready.
fbatch=(--iodepth_batch_submit="$QDEPTH" --iodepth_batch_complete_min=1
	--iodepth_batch_complete_max="$QDEPTH")
rows=()
raw=()
REPEAT=${REPEAT:-3}

# One aisio run and one fio run of the same job; prints "aisio_iops aisio_ns fio_iops fio_ns".
# @first: which tool goes first (alternated between repeats against warm-up effects).
run_once() { # be engine pat mode first
	local be=$1 engine=$2 pat=$3 mode=$4 first=$5 direct=0 aflag=--buffered extra=()
	[ "$mode" = direct ] && { direct=1; aflag=--direct; }
	[ "$engine" = io_uring ] && extra=(--fixedbufs=1 --registerfiles=1 "${fbatch[@]}")
	local auri=$uri ftarget=$target
	if [ "$engine" = io_uring_cmd ]; then
		auri=$ng
		ftarget=$ng
		aflag=
		direct=0 # a character device: no O_DIRECT flag, the passthrough bypasses the page cache anyway
		extra=(--cmd_type=nvme "${fbatch[@]}")
	fi
	run_aisio() {
		# shellcheck disable=SC2086
		"$AISIO" perf run --json --be "$be" $aflag --iopattern "$pat" --iosize "$IOSIZE" \
			--qdepth "$QDEPTH" --runtime "$RUNTIME" "$auri" >"$tmp/a.json"
	}
	run_fio() {
		fio --name=kpath --filename="$ftarget" --ioengine="$engine" --rw="$pat" --bs="$IOSIZE" \
			--iodepth="$QDEPTH" --direct="$direct" --runtime="$RUNTIME" --time_based \
			--norandommap --randrepeat=0 --invalidate=0 --numjobs=1 --group_reporting "${extra[@]}" \
			--output-format=json --output="$tmp/f.json" >/dev/null
	}
	if [ "$first" = aisio ]; then run_aisio; run_fio; else run_fio; run_aisio; fi
	echo "$(aisio_nums "$tmp/a.json") $(fio_nums "$tmp/f.json")"
}

run_pair() { # label aisio-backend fio-engine pattern mode
	local label=$1 be=$2 engine=$3 pat=$4 mode=$5 i first=aisio
	: >"$tmp/reps"
	# Buffered reads should come from the page cache for both tools: read the file once.
	[ "$mode" = buffered ] && [ -f "$target" ] && cat "$target" >/dev/null
	for ((i = 0; i < REPEAT; i++)); do
		run_once "$be" "$engine" "$pat" "$mode" $first >>"$tmp/reps"
		[ $first = aisio ] && first=fio || first=aisio
	done
	rows+=("| $label | $pat | $mode | $(python3 -c '
import statistics, sys
r = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
def c(v, f="%d"):
    # median (min..max)
    return (f + " (" + f + "..." + f + ")") % (statistics.median(v), min(v), max(v))
a, an, f, fn = zip(*r)
ratio = [x / y for x, y in zip(a, f)]
cpu = [x / y if y else 0 for x, y in zip(an, fn)]
print(" | ".join([c(a), c(f), c(ratio, "%.2f"), c(an), c(fn), c(cpu, "%.2f")]))' "$tmp/reps") |")
	echo "${rows[-1]}" >&2
	while read -r l; do raw+=("$label $pat $mode: $l"); done <"$tmp/reps"
}

for pat in $PATTERNS; do
	for mode in $MODES; do
		run_pair "io_uring" io_uring io_uring "$pat" "$mode"
		run_pair "psync" psync psync "$pat" "$mode"
	done
	if [ -n "$ng" ]; then
		run_pair "passthrough" uring_cmd io_uring_cmd "$pat" direct
	fi
done

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
	echo "# bench/kernel-paths on $host"
	echo
	echo "aisio's kernel backends and fio, same job, same target, run back to back in one run."
	echo
	echo "- command: \`bench/kernel-paths/run.sh ${1:-}\` (RUNTIME=$RUNTIME QDEPTH=$QDEPTH IOSIZE=$IOSIZE REPEAT=$REPEAT)"
	echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "- machine: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); load average at the start: $load0"
	echo "- target: $target ($( [ -b "$target" ] && echo block device || echo "file on $(df -T "$target" | awk 'NR==2 {print $2}')"))"
	echo "- $(fio --version), aisio $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "- fio io_uring runs with fixedbufs and registerfiles, as aisio's io_uring backend does by default"
	echo "- fio io_uring and io_uring_cmd batch as aisio does: ${fbatch[*]} (one io_uring_enter submits everything prepared since the last one; a reap waits for at least one completion and takes all that are ready)"
	echo "- fio runs with invalidate=0: like aisio, it leaves the page cache as it finds it (fio's default drops the file's cached pages before each job)"
	echo
	echo "| path | pattern | mode | aisio IOPS | fio IOPS | IOPS aisio/fio | aisio CPU ns/IO | fio CPU ns/IO | CPU aisio/fio |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Each cell is the median of $REPEAT back-to-back pairs; the tools alternate in going first;"
	echo "each cell reads median (min...max) over the pairs; a ratio is taken within each pair. Buffered"
	echo "runs read the file once beforehand so that both tools find it in the page cache."
	echo "CPU time per I/O is user + system time of the whole process over the run divided by"
	echo "the I/Os completed (aisio: getrusage around the run; fio: usr_cpu + sys_cpu of the job)."
	echo "A ratio below 1 in the last column means aisio spent fewer cycles per I/O than fio."
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "Each pair, in run order (aisio IOPS, aisio CPU ns/IO, fio IOPS, fio CPU ns/IO):"
	echo
	echo '```'
	printf '%s\n' "${raw[@]}"
	echo '```'
} >"$OUT"
echo "wrote $OUT" >&2
cat "$OUT"
