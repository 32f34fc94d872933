#!/usr/bin/env bash
# Files into GPU memory on the GPU host (issue 14): aisio fil run --path gpu
# against the pinned copy ceiling and against kvikio, same run, same
# page-cached files, 3 rounds each; results and a min/median/max summary
# under $OUT. From a checkout root:
#   OUT=/tmp/out bench/fil/run-gpuhost.sh
# Needs: nvcc (CUDA 12+), python3 with cupy (for kvikio and its checks), and
# the offline kvikio peer: KVIKIO_DIR, or .peers/kvikio, shared/peers/kvikio,
# ../shared/peers/kvikio (a copy of /work/shared/peers/kvikio; the host has no
# network). Without it the aisio part still runs and the summary says so.
# A dry run of the flow without a GPU: AISIO=build/tests/fil/aisio-fil-mock
# AISIO_FIL_GPU_MOCK=1 SKIP_KVIKIO=1 BIG=64M NSMALL=500 CORES=0-1 OUT=... (the
# numbers then mean nothing).
# Data: an 8 GiB checkpoint file and 20,000 files of 128 KiB (fil gen) in
# /tmp, or /dev/shm when /tmp has less than 24 GiB free.
# First a probe (aisio fil regprobe) of what registering the page-cached big
# file costs by piece size and threads, and the copy speed from registered
# file pages; then the cases. The cases issue 14 sets targets for (and
# kvikio's) run ROUNDS times, the others once (R=1).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/out}
ROUNDS=${ROUNDS:-3}
BIG=${BIG:-8G}
NSMALL=${NSMALL:-20000}
CORES=${CORES:-0-3}
export OUT ROUNDS
mkdir -p "$OUT/raw"
T0=$(date +%s)
el() { echo "[t+$(($(date +%s) - T0))s] $*"; }

el "== machine"
{
	nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv,noheader
	echo "cpus $(nproc): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	uname -r
	git log -1 --format='commit %H' 2>/dev/null
} | tee "$OUT/machine.txt"

el "== build (CUDA, sm_90)"
if [ -z "${AISIO:-}" ]; then # AISIO=path: a tool already built (a dry run uses the CUDA stand-in)
	AISIO=$(bench/gpu/build.sh build-fil 2>"$OUT/build.log") || { tail -30 "$OUT/build.log"; exit 1; }
fi
echo "$AISIO"

AV=$(df -B1G --output=avail /tmp | tail -1 | tr -d ' ')
if [ "$AV" -ge 24 ]; then D=/tmp/filbench; else D=/dev/shm/filbench; fi
rm -rf "$D"
mkdir -p "$D"
el "== datasets in $D (/tmp has ${AV}G free)"
"$AISIO" fil gen --profile checkpoint --files 1 --size "$BIG" "$D/big" || exit 1
"$AISIO" fil gen --profile small --files "$NSMALL" --size 128K "$D/small" || exit 1
# into the page cache (and a first check of every byte on the host)
"$AISIO" fil run --path posix --threads 8 "$D/big" | tail -4
"$AISIO" fil run --path posix --threads 8 "$D/small" | tail -4
free -g | head -2

el "== correctness on this GPU (tests/fil/run_fil_gpu.sh)"
AISIO_REQUIRE_GPU=1 AISIO_TEST_DIR=$D timeout 150 bash tests/fil/run_fil_gpu.sh "$AISIO" >"$OUT/fil_gpu_test.txt" 2>&1
echo "fil_gpu test exit $? ($(tail -1 "$OUT/fil_gpu_test.txt"))"

PIN=""
command -v taskset >/dev/null && PIN="taskset -c $CORES"
# aisio CASE DATASET ARGS...: ROUNDS runs, each JSON result in raw/
# (the device command has 600 s: past BUDGET seconds, cases are skipped and said so)
aisio_case() {
	local c=$1 ds=$2
	shift 2
	if [ $(($(date +%s) - T0)) -gt "${BUDGET:-420}" ]; then
		echo "  $c: skipped, past the time budget" | tee -a "$OUT/skipped.txt"
		return
	fi
	for r in $(seq 1 "${R:-$ROUNDS}"); do
		timeout 180 $PIN "$AISIO" fil run --path gpu --json "$@" "$D/$ds" >"$OUT/raw/aisio-$c-r$r.json" 2>"$OUT/raw/aisio-$c-r$r.err" ||
			echo "aisio $c round $r failed: $(tail -2 "$OUT/raw/aisio-$c-r$r.err")"
		echo "  $c r$r: $(grep -o '"gb_per_s":[0-9.]*\|"files_per_s":[0-9.]*\|"cpu_s":[0-9.]*\|"verify":"[a-z]*"' "$OUT/raw/aisio-$c-r$r.json" | tr '\n' ' ')"
	done
}

el "== pinned copy ceiling (before)"
timeout 60 "$AISIO" fil ceiling --size 1G --rounds "$ROUNDS" --json | tee "$OUT/raw/ceiling-1.json"
el "== registration probe: cudaHostRegister of the page-cached big file (fil regprobe)"
timeout 150 "$AISIO" fil regprobe --json --budget "${PROBE_BUDGET:-80}" --pieces 2M,8M,32M,128M,512M,1G \
	--threads 1,2,4 "$D/big/$(sed -n 's/^[0-9]* //p' "$D/big/.aisio-fil" | head -1)" \
	>"$OUT/raw/regprobe.jsonl" 2>"$OUT/raw/regprobe.err" || echo "regprobe failed: $(tail -3 "$OUT/raw/regprobe.err")"
cat "$OUT/raw/regprobe.err"
grep -o '"piece":[0-9]*,"threads":[0-9]*,"populate":[01]\|"reg_gb_per_s":[0-9.]*\|"reg_us_per_call":[0-9.]*\|"unreg_gb_per_s":[0-9.]*\|"from":"[A-Za-z ]*"\|"whole_gb_per_s":[0-9.]*\|"chunks_1m_gb_per_s":[0-9.]*' \
	"$OUT/raw/regprobe.jsonl" | paste -sd' ' | sed 's/ "piece"/\n"piece"/g; s/ "from"/\n"from"/g'
echo
el "== aisio fil run --path gpu, the cases issue 14 names (${PIN:-no taskset})"
# large file and 1 MiB chunks through registered pieces (--reg), 4 threads on 4 cores
aisio_case big-map-1M-r64 big --xfer map --threads 4 --chunk 1M --reg 64M --qd 4
aisio_case big-map-1M-r256 big --xfer map --threads 4 --chunk 1M --reg 256M --qd 2
aisio_case big-map-16M-r64 big --xfer map --threads 4 --chunk 16M --reg 64M --qd 4
# registration may be serialised in the driver: then one or two mapping threads are as good as
# four, and the other cores stage
aisio_case big-map-1M-2t-r64 big --xfer map --threads 2 --chunk 1M --reg 64M --qd 4
aisio_case big-mix-1M-1m big --xfer mix --threads 4 --map-threads 1 --chunk 1M --reg 64M --stage 16M --qd 4
aisio_case big-mix-1M-2m big --xfer mix --threads 4 --map-threads 2 --chunk 1M --reg 64M --stage 16M --qd 4
aisio_case big-mix-16M-1m big --xfer mix --threads 4 --map-threads 1 --chunk 16M --reg 64M --stage 16M --qd 4
aisio_case small-stage small --threads 4 --chunk 1M --stage 16M --qd 4
# --pipe: one registrar registers pieces --qd ahead and queues one copy a piece (two streams), a
# releaser thread unregisters, so registration, copy and unregistration overlap; mix: the other
# threads stage from the same cursor (thread counts below include the releaser)
aisio_case big-mappipe-1M-r256 big --xfer map --pipe --chunk 1M --reg 256M --qd 3
aisio_case big-mappipe-16M-r256 big --xfer map --pipe --chunk 16M --reg 256M --qd 3
aisio_case big-mappipe-1M-r1g big --xfer map --pipe --chunk 1M --reg 1G --qd 2
aisio_case big-mappipe-1M-r64 big --xfer map --pipe --chunk 1M --reg 64M --qd 6
aisio_case big-mappipe-1M-r256-b2 big --xfer map --pipe --chunk 1M --reg 256M --qd 4 --unreg-batch 2
aisio_case big-mixpipe-1M-r256 big --xfer mix --pipe --threads 3 --chunk 1M --reg 256M --stage 16M --qd 3
aisio_case big-mixpipe-16M-r256 big --xfer mix --pipe --threads 3 --chunk 16M --reg 256M --stage 16M --qd 3
aisio_case big-mixpipe-1M-r1g big --xfer mix --pipe --threads 3 --chunk 1M --reg 1G --stage 16M --qd 2
# for comparison, once: staging alone, registration per 16 MiB (pieces no larger than a chunk)
R=1 aisio_case big-stage-1M big --threads 4 --chunk 1M --stage 16M --qd 4
R=1 aisio_case big-stage-16M big --threads 4 --chunk 16M --stage 64M --qd 4
R=1 aisio_case big-map-16M-r16 big --xfer map --threads 4 --chunk 16M --reg 16M --qd 4
R=1 aisio_case big-map-1M-r16 big --xfer map --threads 4 --chunk 1M --reg 16M --qd 8

el "== kvikio (compat mode) on the same files"
KV=""
[ "${SKIP_KVIKIO:-0}" = 1 ] || for k in "${KVIKIO_DIR:-}" .peers/kvikio shared/peers/kvikio ../shared/peers/kvikio; do
	[ -n "$k" ] && [ -f "$k/build.sh" ] && { KV=$(cd "$k" && pwd); break; }
done
if [ -z "$KV" ]; then
	echo "no kvikio peer found (KVIKIO_DIR, .peers/kvikio, shared/peers/kvikio): kvikio not measured" |
		tee "$OUT/kvikio-missing.txt"
else
	SITE=$(python3 -c "import site;print(' '.join(site.getsitepackages()))")
	CUDA_INC=""
	for d in /usr/local/cuda/include $(command -v nvcc >/dev/null && realpath "$(dirname "$(command -v nvcc)")/../include") \
		$(find $SITE -path '*nvidia*' -name cuda.h 2>/dev/null | xargs -r -n1 dirname); do
		[ -f "$d/cuda.h" ] && { CUDA_INC=$d; break; }
	done
	CUFILE_INC=$(dirname "$(find "$CUDA_INC" /usr/local/cuda*/ /usr/include $SITE -name cufile.h 2>/dev/null | head -1)" 2>/dev/null)
	[ -f "$CUFILE_INC/cufile.h" ] || CUFILE_INC=$KV/src/third/cufile_fallback
	PYINC=$(python3 -c "import sysconfig;print(sysconfig.get_paths()['include'])")
	[ -f "$PYINC/Python.h" ] || PYINC=$KV/pyinc/python3.12
	if [ -f /tmp/kvbuild/site/kvikio/__init__.py ] ||
		CUDA_INC=$CUDA_INC CUFILE_INC=$CUFILE_INC PYINC=$PYINC JOBS=16 timeout 200 bash "$KV/build.sh" /tmp/kvbuild >"$OUT/kvikio-build.log" 2>&1; then
		export PYTHONPATH=/tmp/kvbuild/site KVIKIO_COMPAT_MODE=ON
		timeout 200 python3 bench/fil/kvikio_fil.py big "$D/big" 2>&1 | grep -v '^\s*$' | tail -8
		timeout 120 python3 bench/fil/kvikio_fil.py small "$D/small" 2>&1 | grep -v '^\s*$' | tail -4
	else
		echo "kvikio build failed: $(tail -5 "$OUT/kvikio-build.log")"
	fi
fi
el "== aisio fil run --path gpu, more cases (skipped past BUDGET=${BUDGET:-420} s)"
R=1 aisio_case small-map small --xfer map --threads 4 --qd 8
# 1 MiB chunks and small files have no CPU bound in issue 14 (kvikio uses 16 threads)
PIN="" aisio_case big-map-1M-8t-r64 big --xfer map --threads 8 --chunk 1M --reg 64M --qd 4
PIN="" aisio_case big-mix-1M-8t-2m big --xfer mix --threads 8 --map-threads 2 --chunk 1M --reg 64M --stage 16M --qd 4
PIN="" aisio_case big-mix-1M-8t-4m big --xfer mix --threads 8 --map-threads 4 --chunk 1M --reg 64M --stage 16M --qd 4
PIN="" R=1 aisio_case big-stage-1M-8t big --threads 8 --chunk 1M --stage 16M --qd 4
PIN="" aisio_case big-mixpipe-1M-7t big --xfer mix --pipe --threads 7 --chunk 1M --reg 256M --stage 16M --qd 3
PIN="" aisio_case small-stage-8t small --threads 8 --chunk 1M --stage 16M --qd 4
el "== pinned copy ceiling (after)"
timeout 60 "$AISIO" fil ceiling --size 1G --rounds "$ROUNDS" --json | tee "$OUT/raw/ceiling-2.json"
el "== summary"
python3 bench/fil/summarize.py "$OUT" | tee "$OUT/summary.md"
rm -rf "$D"
el "== done"
