#!/usr/bin/env bash
# The GPU-host study of issue 5, in one command: build, verify, probes,
# the two null-mode sweeps against 16 model controllers, and CPU-initiated
# P2P mode against host buffers. Results go to $OUT (or bench/gpu/out).
# usage: bench/gpu/run.sh [quick|full] [steps...]
#   steps: env build verify probe sweep-qd sweep-io threads p2p (default: all)
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-full}
shift || true
STEPS=${*:-env build verify dma probe sweep-qd sweep-io threads ceiling p2p}
OUT=${OUT:-bench/gpu/out}
mkdir -p "$OUT"
RT=2
[ "$MODE" = quick ] && RT=1
CTRL=emu:1G,null

has() { [[ " $STEPS " == *" $1 "* ]]; }
log() { echo "== $* ($(date -u +%H:%M:%S))"; }

if has env; then
	{
		date -u
		nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv
		nproc
		uname -r
		for t in meson ninja gcc nvcc python3; do printf '%s: %s\n' "$t" "$(command -v $t || echo missing)"; done
		git log -1 --format='commit %H' 2>/dev/null || true
	} >"$OUT/env.txt" 2>&1
	cat "$OUT/env.txt"
fi
if has build; then
	log build
	AISIO=$(bench/gpu/build.sh build-gpu 2>"$OUT/build.log") || { tail -30 "$OUT/build.log"; exit 1; }
fi
AISIO=${AISIO:-build-gpu/aisio}
run() { echo "\$ aisio $*"; timeout 300 "$AISIO" "$@"; echo "exit $?"; }

if has verify; then
	log verify
	{
		run perf cuda-verify
		run perf cuda-verify --ctrls 4 --nqueues 16 --qdepth 64 --per-thread 4 --iosize 8192 --json
		run perf cuda-verify --ctrls 2 --nqueues 2 --qdepth 512 --iosize 512 --size 16M --json
	} 2>&1 | tee "$OUT/verify.txt"
fi
if has dma; then
	# How the model's copies into GPU memory are issued: one cudaMemcpyBatchAsync per
	# doorbell (default), one cudaMemcpyAsync per piece, or a sleeping stream wait.
	log dma
	for m in batch single sync; do
		echo "AISIO_GPU_DMA=$m"
		AISIO_GPU_DMA=$m run perf cuda-verify --json
		AISIO_GPU_DMA=$m run perf run --mem gpu --ctrls 4 --threads 4 --qdepth 32 --iosize 4096 --runtime 1 emu:1G
	done 2>&1 | tee -a "$OUT/verify.txt"
fi
if has probe; then
	log probe
	run perf cuda-run --probe --ctrls 16 --nqueues 16 --qdepth 32 --runtime 1 $CTRL 2>&1 | tee "$OUT/probe.txt"
fi
if has sweep-qd; then
	log sweep-qd
	if [ "$MODE" = quick ]; then NQ=16,64,128; QD=1,8,32; else NQ=16,32,64,128,256; QD=1,4,16,32,64,128; fi
	{
		run perf cuda-run --ctrls 16 --nqueues $NQ --qdepth $QD --iosize 512 --runtime $RT $CTRL
	} 2>&1 | tee "$OUT/sweep_qd_nq.txt"
fi
if has sweep-io; then
	log sweep-io
	if [ "$MODE" = quick ]; then IO=512,4k,64k; QD=1,32; else IO=512,1k,2k,4k,8k,16k,32k,64k; QD=1,8,32,128; fi
	{
		run perf cuda-run --ctrls 16 --nqueues 64 --qdepth $QD --iosize $IO --runtime $RT $CTRL
	} 2>&1 | tee "$OUT/sweep_iosize.txt"
fi
if has threads; then
	log threads
	{
		# GPU threads needed: the same commands in flight from fewer threads, and
		# doorbells per block, and model threads per controller.
		for k in 2 4 8; do
			run perf cuda-run --ctrls 16 --nqueues 128 --qdepth 32,64 --per-thread $k --runtime $RT $CTRL
		done
		run perf cuda-run --ctrls 16 --nqueues 32 --qdepth 128 --block-db --runtime $RT $CTRL
		run perf cuda-run --ctrls 16 --nqueues 128 --qdepth 32 --poll-ns 500 --runtime $RT $CTRL
		run perf cuda-run --ctrls 8 --ctrl-threads 2 --nqueues 128 --qdepth 32 --runtime $RT $CTRL
	} 2>&1 | tee "$OUT/threads.txt"
fi
if has ceiling; then
	log ceiling
	{
		# Where the top is: the same GPU load against fewer model controllers
		# (one polling thread each), more commands in flight, GPU back-off.
		for n in 4 8 16; do
			run perf cuda-run --ctrls $n --nqueues 256 --qdepth 128 --runtime $RT $CTRL
		done
		run perf cuda-run --ctrls 16 --nqueues 256,512 --qdepth 128,256 --per-thread 2 --runtime $RT $CTRL
		run perf cuda-run --ctrls 16 --nqueues 256 --qdepth 128 --poll-ns 200 --runtime $RT $CTRL
	} 2>&1 | tee -a "$OUT/threads.txt"
fi
if has p2p; then
	log p2p
	{
		for mem in host gpu; do
			for u in emu:1G,null emu:1G; do
				for io in 4096 65536; do
					run perf run --mem $mem --ctrls 4 --threads 4 --qdepth 32 --iosize $io --runtime $RT --json $u
				done
			done
		done
	} 2>&1 | tee "$OUT/p2p.txt"
fi
log done
