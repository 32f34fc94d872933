#!/usr/bin/env bash
# Files into GPU memory on the GPU host (issue 14), one command, under 8
# minutes: every path of aisio fil run on the same page-cached datasets, 3
# rounds each with every byte checked, against the pinned copy ceiling and
# kvikio; a compact table (GB/s and files/s min / median / max, CPU cores)
# on stdout, everything under $OUT. From a checkout root:
#   OUT=/tmp/out bench/fil/run-gpuhost.sh
# Paths: posix, io_uring (when built with liburing), gpu = (a) the kernel path
# into GPU memory, homi (extents from homid into host memory), homi --mem gpu
# = (b) user-space NVMe through homid's queues straight into GPU memory
# (GPU_MEM_REG), gpu-nvme = (c) GPU threads walking the extent tables and
# issuing the reads on GPU queues of a memory-backed device model: in this
# process (c-*) or homid's, extents and GPU queues from homid (c-homi-*).
# Needs: nvcc (CUDA 12+), meson + ninja (else bench/gpu/build.sh compiles
# directly: no homid, so no (b)), mkfs.xfs (xfsprogs; or a copy in
# .ab/xfsprogs made by bench/fil/pack-xfsprogs.sh) for the XFS images that (b)
# and (c) read, libinih for homid (or .ab/inih, as for bench/homi), python3;
# for kvikio: cupy and the offline peer (KVIKIO_DIR, .peers/kvikio,
# shared/peers/kvikio, ../shared/peers/kvikio). What cannot run is said,
# listed in $OUT/failures.txt and in the table, and the exit status is 1.
# ONLY=REGEX runs only the cases whose names match it; SKIP_CHECK=1 skips the correctness step.
# FULL=1 adds the earlier study of the kernel path (regprobe, the map, mix
# and --pipe variants: about 5 minutes more).
# Data: an 8 GiB checkpoint file and 20,000 files of 128 KiB (fil gen) and
# the same bytes in XFS images (mkfs.xfs -p; the big one as 1 GiB shards), in /tmp, or /dev/shm when /tmp
# has less than 40 GiB free.
# A dry run of the flow without a GPU: AISIO=build/tests/fil/aisio-fil-mock
# AISIO_FIL_GPU_MOCK=1 SKIP_KVIKIO=1 BIG=64M NSMALL=500 CORES=0-1 OUT=... (the
# numbers then mean nothing; gpu-nvme is refused by the stand-in).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/out}
ROUNDS=${ROUNDS:-3}
BIG=${BIG:-8G}
NSMALL=${NSMALL:-20000}
CORES=${CORES:-0-3}
mkdir -p "$OUT/raw"
OUT=$(cd "$OUT" && pwd)
export OUT ROUNDS
: >"$OUT/failures.txt"
T0=$(date +%s)
el() { echo "[t+$(($(date +%s) - T0))s] $*"; }
failed() { echo "FAILED: $*" | tee -a "$OUT/failures.txt"; }
export PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH

el "== machine"
{
	nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv,noheader
	echo "cpus $(nproc): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	uname -r
	git log -1 --format='commit %H' 2>/dev/null
} | tee "$OUT/machine.txt"

el "== build (CUDA, sm_90): aisio and homid"
if [ -d .ab/inih/lib ]; then # Debian's libinih, carried (the host has none)
	export PKG_CONFIG_PATH=$PWD/.ab/inih/lib/pkgconfig LD_LIBRARY_PATH=$PWD/.ab/inih/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
HOMID=""
if [ -n "${AISIO:-}" ]; then # a tool already built (a dry run uses the CUDA stand-in)
	HOMID=${HOMID_BIN:-$(dirname "$AISIO")/homid}
	[ -x "$(dirname "$AISIO")/../../homid" ] && HOMID=$(dirname "$AISIO")/../../homid
elif command -v meson >/dev/null && command -v ninja >/dev/null; then
	B=build-fil
	if [ ! -f "$B/build.ninja" ] || { [ -d .ab/inih/lib ] && ! grep -q 'build homid:' "$B/build.ninja"; }; then
		rm -rf "$B"
		meson setup "$B" -Dcuda=enabled -Dbuildtype=release -Db_ndebug=true >"$OUT/build.log" 2>&1 ||
			{ tail -30 "$OUT/build.log"; echo "FAILED: meson setup"; exit 1; }
	fi
	t=(aisio)
	grep -q 'build homid:' "$B/build.ninja" && t+=(homid)
	ninja -C "$B" "${t[@]}" >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; echo "FAILED: build"; exit 1; }
	AISIO=$PWD/$B/aisio
	HOMID=$PWD/$B/homid
else
	AISIO=$(bench/gpu/build.sh build-fil 2>"$OUT/build.log") || { tail -30 "$OUT/build.log"; echo "FAILED: build"; exit 1; }
fi
echo "$AISIO"
[ -x "$HOMID" ] || { failed "no homid (libinih missing: carry .ab/inih): paths homi and (b) not measured"; HOMID=""; }
MKFS=$(command -v mkfs.xfs)
if [ -z "$MKFS" ] && [ -x .ab/xfsprogs/mkfs.xfs ]; then
	MKFS=$PWD/.ab/xfsprogs/mkfs.xfs
	export LD_LIBRARY_PATH=$PWD/.ab/xfsprogs/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
[ -n "$MKFS" ] || failed "no mkfs.xfs (install xfsprogs, or carry .ab/xfsprogs from bench/fil/pack-xfsprogs.sh): no XFS images, paths homi, (b) and (c) not measured"

AV=$(df -B1G --output=avail /tmp | tail -1 | tr -d ' ')
if [ "$AV" -ge 40 ]; then D=/tmp/filbench; else D=/dev/shm/filbench; fi
rm -rf "$D"
mkdir -p "$D"
el "== datasets in $D (/tmp has ${AV}G free)"
"$AISIO" fil gen --profile checkpoint --files 1 --size "$BIG" "$D/big" || exit 1
# The image holds the same bytes as 1 GiB shards: mkfs.xfs -p (xfsprogs 6.1) keeps only the low
# 32 bits of a file's size, so a file of 4 GiB or more would come out empty.
bigb=$(sed -n 's/^bytes //p' "$D/big/.aisio-fil")
if [ "$bigb" -gt $((1 << 30)) ]; then
	"$AISIO" fil gen --profile checkpoint --files $((bigb >> 30)) --protofile "$D/big.proto" "$D/bigimg" || exit 1
else
	"$AISIO" fil gen --profile checkpoint --files 1 --size "$BIG" --protofile "$D/big.proto" "$D/bigimg" || exit 1
fi
"$AISIO" fil gen --profile small --files "$NSMALL" --size 128K --protofile "$D/small.proto" "$D/small" || exit 1
# the same trees in XFS images (one allocation group: docs/fil.md), about 1.1 x the data + 128 MiB
mkimg() { # NAME TREE
	local bytes mb
	bytes=$(sed -n 's/^bytes //p' "$D/$2/.aisio-fil")
	mb=$((bytes / 1048576 * 11 / 10 + 160))
	truncate -s "${mb}M" "$D/$1.img" &&
		TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 "$MKFS" -q -d agcount=1 -p "$D/$1.proto" "$D/$1.img" 2>"$OUT/mkfs-$1.err" ||
		{ failed "mkfs.xfs -p of $1: $(tail -3 "$OUT/mkfs-$1.err")"; rm -f "$D/$1.img"; return 1; }
	echo "$D/$1.img: ${mb} MiB"
	eval "IMG_MB_$1=$mb"
}
if [ -n "$MKFS" ]; then mkimg big bigimg; mkimg small small; fi
# into the page cache (the directories and the images), and a first check of every byte on the host
"$AISIO" fil run --path posix --threads 8 "$D/big" | tail -4
"$AISIO" fil run --path posix --threads 8 "$D/small" | tail -4
cat "$D"/*.img >/dev/null 2>&1
free -g | head -2

el "== correctness of (b) and (c) on this GPU (tests/fil/run_fil_gpu_nvme.sh; FULL=1: run_fil_gpu.sh too)"
if [ -n "$HOMID" ] && [ -n "$MKFS" ] && [ "${SKIP_CHECK:-0}" != 1 ]; then
	PATH=$(dirname "$MKFS"):$PATH AISIO_REQUIRE_GPU=${AISIO_REQUIRE_GPU:-1} HOMID=$HOMID AISIO_TEST_DIR=$D \
		timeout 150 bash tests/fil/run_fil_gpu_nvme.sh "$AISIO" >"$OUT/fil_gpu_nvme_test.txt" 2>&1
	rc=$?
	echo "fil_gpu_nvme test exit $rc ($(tail -1 "$OUT/fil_gpu_nvme_test.txt"))"
	[ $rc -eq 0 ] || failed "tests/fil/run_fil_gpu_nvme.sh: exit $rc: $(grep '^FAIL' "$OUT/fil_gpu_nvme_test.txt" | head -3)"
fi
if [ "${FULL:-0}" = 1 ]; then
	AISIO_REQUIRE_GPU=1 AISIO_TEST_DIR=$D timeout 150 bash tests/fil/run_fil_gpu.sh "$AISIO" >"$OUT/fil_gpu_test.txt" 2>&1 ||
		failed "tests/fil/run_fil_gpu.sh: $(tail -1 "$OUT/fil_gpu_test.txt")"
fi

PIN=""
command -v taskset >/dev/null && PIN="taskset -c $CORES"
# aisio_case CASE PATH TARGET ARGS...: ROUNDS runs (R=N for fewer), each JSON result in raw/;
# past BUDGET seconds (default 450) a case is skipped and said so
aisio_case() {
	local c=$1 path=$2 tgt=$3 rc
	shift 3
	# ONLY=REGEX: only the cases whose names match (a shorter run)
	if [ -n "${ONLY:-}" ] && ! [[ $c =~ $ONLY ]]; then
		return
	fi
	if [ $(($(date +%s) - T0)) -gt "${BUDGET:-450}" ]; then
		failed "$c: skipped, past the time budget (BUDGET=${BUDGET:-450} s)"
		return
	fi
	for r in $(seq 1 "${R:-$ROUNDS}"); do
		timeout "${CASE_TIMEOUT:-120}" $PIN "$AISIO" fil run --path "$path" --json "$@" "$tgt" \
			>"$OUT/raw/aisio-$c-r$r.json" 2>"$OUT/raw/aisio-$c-r$r.err"
		rc=$?
		if [ $rc -ne 0 ] && grep -q "built without liburing" "$OUT/raw/aisio-$c-r$r.err"; then
			echo "  $c: not measured: this aisio was built without liburing" | tee -a "$OUT/skipped.txt"
			rm -f "$OUT/raw/aisio-$c-r$r.json" "$OUT/raw/aisio-$c-r$r.err"
			return
		fi
		if [ $rc -ne 0 ]; then
			failed "$c round $r: exit $rc: $(grep -v '^mock:' "$OUT/raw/aisio-$c-r$r.err" | tail -2 | tr '\n' ' ')"
			rm -f "$OUT/raw/aisio-$c-r$r.json"
			grep -q "built without\|not built\|no usable GPU\|no GPU threads\|CUDA stand-in" "$OUT/raw/aisio-$c-r$r.err" && return
			continue
		fi
		echo "  $c r$r: $(grep -o '"gb_per_s":[0-9.]*\|"files_per_s":[0-9.]*\|"cpu_s":[0-9.]*\|"gpu_threads":[0-9]*\|"verify":"[a-z]*"' "$OUT/raw/aisio-$c-r$r.json" | tr '\n' ' ')"
	done
}

el "== pinned copy ceiling (before)"
timeout 60 "$AISIO" fil ceiling --size 1G --rounds "$ROUNDS" --json | tee "$OUT/raw/ceiling-1.json" ||
	failed "fil ceiling"

el "== host memory: posix, io_uring (page cache)"
aisio_case posix-big posix "$D/big" --threads 8
aisio_case posix-small posix "$D/small" --threads 8
aisio_case io_uring-big io_uring "$D/big" --threads 4 --qd 16
aisio_case io_uring-small io_uring "$D/small" --threads 4 --qd 16

el "== (a) gpu: the kernel path into GPU memory (${PIN:-no taskset} where 4 cores)"
aisio_case a-big-mixpipe-1M-4c gpu "$D/big" --xfer mix --pipe --threads 3 --chunk 1M --reg 1G --stage 16M --qd 2
# registration and copies overlap; unregistration takes copy-engine time, so it waits for the end
aisio_case a-big-mappipe-defer-4c gpu "$D/big" --xfer map --pipe --threads 1 --chunk 1M --reg 512M --qd 64 --unreg-batch 63
aisio_case a-big-mixpipe-defer-4c gpu "$D/big" --xfer mix --pipe --threads 3 --chunk 1M --reg 512M --stage 16M --qd 64 --unreg-batch 63
# the same with the staging threads publishing to a persistent copy kernel (no CUDA call on their
# path, so the registrar's driver lock does not stall them); staging alone both ways
aisio_case a-big-mixpipe-kern-4c gpu "$D/big" --xfer mix --pipe --threads 3 --stage-copy kernel --reg 512M --qd 64 --unreg-batch 63 --chunk 1M --stage 16M
aisio_case a-big-stage-4c gpu "$D/big" --threads 4 --chunk 1M --stage 16M --qd 4
aisio_case a-big-stage-kern-4c gpu "$D/big" --threads 4 --chunk 1M --stage 16M --qd 4 --stage-copy kernel
PIN="" aisio_case a-big-mix-1M-8t gpu "$D/big" --xfer mix --threads 8 --map-threads 2 --chunk 1M --reg 64M --stage 16M --qd 4
PIN="" aisio_case a-big-mixpipe-1M-8t gpu "$D/big" --xfer mix --pipe --threads 7 --chunk 1M --reg 256M --stage 16M --qd 3
aisio_case a-small-stage-4c gpu "$D/small" --threads 4 --chunk 1M --stage 16M --qd 4
aisio_case a-small-stage-kern-4c gpu "$D/small" --threads 4 --chunk 1M --stage 16M --qd 4 --stage-copy kernel
PIN="" aisio_case a-small-stage-8t gpu "$D/small" --threads 8 --chunk 1M --stage 16M --qd 4

# homid on both images; its models move data for clients' GPU memory with the copy engines
MODEL=${MODEL_OPTS:-threads=4,mdts=8} # controller threads; 1 MiB commands
# each model's GPU DMA provider says at exit how many bytes went straight from the registered
# image pages and how long registering took (homid.log, the gpu-nvme .err files)
export AISIO_GPU_DMA_REPORT=1
homid_pid=""
stop_homid() { [ -n "$homid_pid" ] && kill "$homid_pid" 2>/dev/null && wait "$homid_pid" 2>/dev/null; homid_pid=""; }
trap 'stop_homid' EXIT
if [ -n "$HOMID" ] && [ -f "$D/big.img" ] && [ -f "$D/small.img" ]; then
	el "== homid on the images (emu:...,file=IMG,gpu=0,$MODEL)"
	GPUOPT=,gpu=0
	[ "${AISIO_FIL_GPU_MOCK:-0}" = 1 ] && GPUOPT=""
	SOCK=$D/homid.sock
	printf '[homid]\nsocket = %s\nlog_level = warning\n[uid:%s]\nnamespace = 1\naccess = ro\ndirect = yes\nmax_queues = 1024\nmax_depth = 1024\nmax_mem = 64G\n' \
		"$SOCK" "$(id -u)" >"$D/homid.conf"
	"$HOMID" --foreground --config "$D/homid.conf" --socket "$SOCK" \
		--ctrl "emu:${IMG_MB_big}M,file=$D/big.img$GPUOPT,$MODEL" \
		--ctrl "emu:${IMG_MB_small}M,file=$D/small.img$GPUOPT,$MODEL" >"$OUT/homid.log" 2>&1 &
	homid_pid=$!
	for _ in $(seq 300); do
		[ -S "$SOCK" ] && break
		kill -0 "$homid_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$homid_pid" 2>/dev/null; then
		failed "homid did not start: $(tail -3 "$OUT/homid.log")"
		homid_pid=""
	else
		HB="homi:$SOCK,ctrl=emu0,mode=direct"
		HS="homi:$SOCK,ctrl=emu1,mode=direct"
		el "== homi: extents from homid, user-space NVMe into host memory"
		aisio_case homi-host-big homi "$HB" --threads 4 --qd 16 --chunk 1M
		aisio_case homi-host-small homi "$HS" --threads 4 --qd 16
		el "== (b) homi --mem gpu: extents from homid, homid queues straight into GPU memory"
		aisio_case b-big-4t homi "$HB" --mem gpu --threads 4 --qd 16 --chunk 1M
		aisio_case b-big-8t homi "$HB" --mem gpu --threads 8 --qd 32 --chunk 1M
		aisio_case b-small-4t homi "$HS" --mem gpu --threads 4 --qd 16
		aisio_case b-small-8t homi "$HS" --mem gpu --threads 8 --qd 32
		if [ "${AISIO_FIL_GPU_MOCK:-0}" != 1 ]; then # the stand-in runs no GPU threads
			el "== (c) gpu-nvme through homid: its extents and GPU queues, GPU memory registered with it"
			aisio_case c-homi-big-2048t gpu-nvme "$HB" --threads 32 --qd 64 --chunk 1M
			aisio_case c-homi-small-2048t gpu-nvme "$HS" --threads 32 --qd 64
		fi
		stop_homid
	fi
fi
if [ -f "$D/big.img" ] && [ -f "$D/small.img" ]; then
	el "== (c) gpu-nvme: GPU threads walk the extent tables and issue the reads (model emu:...,$MODEL)"
	EB="emu:${IMG_MB_big}M,file=$D/big.img,$MODEL"
	ES="emu:${IMG_MB_small}M,file=$D/small.img,$MODEL"
	aisio_case c-big-512t gpu-nvme "$EB" --threads 8 --qd 64 --chunk 1M
	aisio_case c-big-2048t gpu-nvme "$EB" --threads 32 --qd 64 --chunk 1M
	aisio_case c-small-512t gpu-nvme "$ES" --threads 8 --qd 64
	aisio_case c-small-2048t gpu-nvme "$ES" --threads 32 --qd 64
fi

if [ "${FULL:-0}" = 1 ]; then
el "== FULL: the earlier study of the kernel path (regprobe, map, mix, --pipe)"
BUDGET=${FULL_BUDGET:-780} KV_BUDGET=${FULL_BUDGET:-780}
timeout 150 "$AISIO" fil regprobe --json --budget "${PROBE_BUDGET:-80}" --pieces 2M,8M,32M,128M,512M,1G \
	--threads 1,2,4 "$D/big/$(sed -n 's/^[0-9]* //p' "$D/big/.aisio-fil" | head -1)" \
	>"$OUT/raw/regprobe.jsonl" 2>"$OUT/raw/regprobe.err" || failed "regprobe: $(tail -3 "$OUT/raw/regprobe.err")"
# large file and 1 MiB chunks through registered pieces (--reg), 4 threads on 4 cores
aisio_case big-map-1M-r64 gpu "$D/big" --xfer map --threads 4 --chunk 1M --reg 64M --qd 4
aisio_case big-map-1M-r256 gpu "$D/big" --xfer map --threads 4 --chunk 1M --reg 256M --qd 2
aisio_case big-map-16M-r64 gpu "$D/big" --xfer map --threads 4 --chunk 16M --reg 64M --qd 4
# registration may be serialised in the driver: then one or two mapping threads are as good as
# four, and the other cores stage
aisio_case big-map-1M-2t-r64 gpu "$D/big" --xfer map --threads 2 --chunk 1M --reg 64M --qd 4
aisio_case big-mix-1M-1m gpu "$D/big" --xfer mix --threads 4 --map-threads 1 --chunk 1M --reg 64M --stage 16M --qd 4
aisio_case big-mix-1M-2m gpu "$D/big" --xfer mix --threads 4 --map-threads 2 --chunk 1M --reg 64M --stage 16M --qd 4
aisio_case big-mix-16M-1m gpu "$D/big" --xfer mix --threads 4 --map-threads 1 --chunk 16M --reg 64M --stage 16M --qd 4
aisio_case small-stage gpu "$D/small" --threads 4 --chunk 1M --stage 16M --qd 4
# --pipe: one registrar registers pieces --qd ahead and queues one copy a piece (two streams), a
# releaser thread unregisters, so registration, copy and unregistration overlap; mix: the other
# threads stage from the same cursor (thread counts below include the releaser)
aisio_case big-mappipe-1M-r256 gpu "$D/big" --xfer map --pipe --chunk 1M --reg 256M --qd 3
aisio_case big-mappipe-16M-r256 gpu "$D/big" --xfer map --pipe --chunk 16M --reg 256M --qd 3
aisio_case big-mappipe-1M-r1g gpu "$D/big" --xfer map --pipe --chunk 1M --reg 1G --qd 2
aisio_case big-mappipe-1M-r64 gpu "$D/big" --xfer map --pipe --chunk 1M --reg 64M --qd 6
aisio_case big-mappipe-1M-r256-b2 gpu "$D/big" --xfer map --pipe --chunk 1M --reg 256M --qd 4 --unreg-batch 2
aisio_case big-mixpipe-1M-r256 gpu "$D/big" --xfer mix --pipe --threads 3 --chunk 1M --reg 256M --stage 16M --qd 3
aisio_case big-mixpipe-16M-r256 gpu "$D/big" --xfer mix --pipe --threads 3 --chunk 16M --reg 256M --stage 16M --qd 3
aisio_case big-mixpipe-1M-r1g gpu "$D/big" --xfer mix --pipe --threads 3 --chunk 1M --reg 1G --stage 16M --qd 2
# for comparison, once: staging alone, registration per 16 MiB (pieces no larger than a chunk)
R=1 aisio_case big-stage-1M gpu "$D/big" --threads 4 --chunk 1M --stage 16M --qd 4
R=1 aisio_case big-stage-16M gpu "$D/big" --threads 4 --chunk 16M --stage 64M --qd 4
R=1 aisio_case big-map-16M-r16 gpu "$D/big" --xfer map --threads 4 --chunk 16M --reg 16M --qd 4
R=1 aisio_case big-map-1M-r16 gpu "$D/big" --xfer map --threads 4 --chunk 1M --reg 16M --qd 8

R=1 aisio_case small-map gpu "$D/small" --xfer map --threads 4 --qd 8
# 1 MiB chunks and small files have no CPU bound in issue 14 (kvikio uses 16 threads)
PIN="" aisio_case big-map-1M-8t-r64 gpu "$D/big" --xfer map --threads 8 --chunk 1M --reg 64M --qd 4
PIN="" aisio_case big-mix-1M-8t-2m gpu "$D/big" --xfer mix --threads 8 --map-threads 2 --chunk 1M --reg 64M --stage 16M --qd 4
PIN="" aisio_case big-mix-1M-8t-4m gpu "$D/big" --xfer mix --threads 8 --map-threads 4 --chunk 1M --reg 64M --stage 16M --qd 4
PIN="" R=1 aisio_case big-stage-1M-8t gpu "$D/big" --threads 8 --chunk 1M --stage 16M --qd 4
PIN="" aisio_case big-mixpipe-1M-7t gpu "$D/big" --xfer mix --pipe --threads 7 --chunk 1M --reg 256M --stage 16M --qd 3
PIN="" aisio_case small-stage-8t gpu "$D/small" --threads 8 --chunk 1M --stage 16M --qd 4
fi
el "== kvikio (compat mode) on the same files"
KV=""
[ $(($(date +%s) - T0)) -gt "${KV_BUDGET:-380}" ] && { failed "kvikio: skipped, past the time budget"; SKIP_KVIKIO=1; }
[ "${SKIP_KVIKIO:-0}" = 1 ] || for k in "${KVIKIO_DIR:-}" .peers/kvikio shared/peers/kvikio ../shared/peers/kvikio; do
	[ -n "$k" ] && [ -f "$k/build.sh" ] && { KV=$(cd "$k" && pwd); break; }
done
if [ -z "$KV" ]; then
	echo "no kvikio peer found (KVIKIO_DIR, .peers/kvikio, shared/peers/kvikio): kvikio not measured" |
		tee "$OUT/kvikio-missing.txt"
	[ "${SKIP_KVIKIO:-0}" = 1 ] || failed "kvikio peer not found: not measured"
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
		timeout 100 python3 bench/fil/kvikio_fil.py big "$D/big" 2>&1 | grep -v '^\s*$' | tail -8
		timeout 60 python3 bench/fil/kvikio_fil.py small "$D/small" 2>&1 | grep -v '^\s*$' | tail -4
	else
		failed "kvikio build: $(tail -3 "$OUT/kvikio-build.log" | tr '\n' ' ')"
	fi
fi
el "== pinned copy ceiling (after)"
timeout 60 "$AISIO" fil ceiling --size 1G --rounds "$ROUNDS" --json | tee "$OUT/raw/ceiling-2.json" || failed "fil ceiling"
python3 bench/fil/summarize.py "$OUT" >"$OUT/summary.md" 2>"$OUT/summarize.err" || true
rm -rf "$D"
el "== table (also in $OUT/table.md; the full summary in $OUT/summary.md)"
python3 bench/fil/table.py "$OUT" | tee "$OUT/table.md"
[ -s "$OUT/skipped.txt" ] && cat "$OUT/skipped.txt"
el "== done"
[ -s "$OUT/failures.txt" ] && exit 1
exit 0
