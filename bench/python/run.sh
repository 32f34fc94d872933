#!/usr/bin/env bash
# aisio from Python against the C API on the same device in the same run:
# 4 KiB random reads on the null device model (emu:1G,null), one thread.
#  - C:      aisio perf run --threads 1 --qdepth BATCH (keeps BATCH in flight)
#  - Python: bench.py, aisio.Batch of BATCH commands (read_many, one submit,
#            wait for all), into Device.alloc() memory; and into a numpy
#            array (bounce buffers and a copy per command) for comparison.
# The three alternate, RUNS times; reports min/median/max IOPS of each and the
# ratio of the medians (Python / C). Goal: >= 0.8 with DMA memory.
#
#   bench/python/run.sh [BUILD_DIR]        (default: build)
#
# Environment: RUN_SECONDS (3), RUNS (3), BATCH (256), AISIO_PYTHON
# (default /usr/bin/python3). Installs the package with pip into
# BUILD_DIR/bench-python/venv (as tests/python/run.sh does).
# Writes bench/python/results-<host>.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
seconds=${RUN_SECONDS:-3}
runs=${RUNS:-3}
batch=${BATCH:-256}
uri=emu:1G,null
py=${AISIO_PYTHON:-/usr/bin/python3}
host=$(hostname -s)
out=$root/bench/python/results-$host.md
work=$build/bench-python
mkdir -p "$work"

ninja -C "$build" aisio >/dev/null
rm -rf "$work/venv"
"$py" -m venv --system-site-packages "$work/venv"
install() {
	"$work/venv/bin/pip" install --no-index --no-build-isolation --config-settings builddir="$work/wheel-build" \
		"$root" >"$work/pip.log" 2>&1
}
# A kept build directory that meson-python cannot reuse: once more from scratch.
install || { rm -rf "$work/wheel-build"; install; } || { tail -30 "$work/pip.log" >&2; exit 1; }
vpy=$work/venv/bin/python

stats() { # values... -> "min median max"
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.0f %.0f %.0f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
c_v=() d_v=() n_v=()
cd "$work"
for r in $(seq "$runs"); do
	"$build/aisio" perf run --json --threads 1 --qdepth "$batch" --iosize 4096 --runtime "$seconds" \
		--iopattern randread "$uri" >"$work/perf.json"
	c_v+=("$("$vpy" -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["iops"])' "$work/perf.json")")
	d_v+=("$("$vpy" "$root/bench/python/bench.py" --uri "$uri" --batch "$batch" --runtime "$seconds" --buffer dma |
		"$vpy" -c 'import json,sys; print(json.load(sys.stdin)["iops"])')")
	n_v+=("$("$vpy" "$root/bench/python/bench.py" --uri "$uri" --batch "$batch" --runtime "$seconds" --buffer numpy |
		"$vpy" -c 'import json,sys; print(json.load(sys.stdin)["iops"])')")
	echo "run $r: C ${c_v[-1]} IOPS, Python (DMA buffer) ${d_v[-1]} IOPS, Python (numpy buffer) ${n_v[-1]} IOPS"
done
read -r cmin cmed cmax <<<"$(stats "${c_v[@]}")"
read -r dmin dmed dmax <<<"$(stats "${d_v[@]}")"
read -r nmin nmed nmax <<<"$(stats "${n_v[@]}")"
rd=$(awk -v a="$dmed" -v b="$cmed" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
rn=$(awk -v a="$nmed" -v b="$cmed" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
{
	echo "# aisio Python vs C API: 4 KiB random reads, $uri"
	echo
	echo "Machine: $host, $(nproc) CPUs ($cpu), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Date: $(date -u +%Y-%m-%d). Command: \`RUN_SECONDS=$seconds RUNS=$runs BATCH=$batch bench/python/run.sh\`."
	echo "One thread each; $runs alternating runs of $seconds s; IOPS min / median / max."
	echo
	echo "| side | IOPS min / median / max | median / C |"
	echo "|---|---|---|"
	echo "| C: aisio perf run --qdepth $batch | $cmin / $cmed / $cmax | 1.00 |"
	echo "| Python: Batch of $batch, Device.alloc() buffer | $dmin / $dmed / $dmax | $rd |"
	echo "| Python: Batch of $batch, numpy buffer (bounce + copy) | $nmin / $nmed / $nmax | $rn |"
} >"$out"
cat "$out"
