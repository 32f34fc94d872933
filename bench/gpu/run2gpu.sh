#!/usr/bin/env bash
# Several GPUs at once (issue 5): build, then cuda-verify and a short null-mode
# cuda-run on GPU 0 alone and on GPUs 0,1 together with the same per-GPU load
# (--ctrls, --nqueues and --size are per GPU). Results go to $OUT (or bench/gpu/out-2gpu).
# usage: bench/gpu/run2gpu.sh [GPU_LIST]   (default 0,1)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/gpu/out-2gpu}
G=${1:-0,1}
mkdir -p "$OUT"
{
	date -u
	nvidia-smi --query-gpu=index,name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv
	nvidia-smi topo -m
	nproc
	git log -1 --format='commit %H' 2>/dev/null || true
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
AISIO=$(bench/gpu/build.sh build-gpu 2>"$OUT/build.log") || { tail -30 "$OUT/build.log"; exit 1; }
run() { echo "\$ aisio $*"; timeout 60 "$AISIO" "$@"; echo "exit $?"; }
{
	run perf cuda-verify --gpu "$G"
	run perf cuda-verify --gpu 0
	run perf cuda-verify --gpu "$G" --json
} 2>&1 | tee "$OUT/verify.txt"
{
	for g in 0 "$G"; do
		run perf cuda-run --gpu "$g" --ctrls 8 --nqueues 64 --qdepth 32,128 --iosize 512 --runtime 2 emu:1G,null
	done
	run perf cuda-run --gpu "$G" --ctrls 8 --nqueues 64 --qdepth 32 --iosize 512 --runtime 1 --json emu:1G,null
} 2>&1 | tee "$OUT/run.txt"
echo "== done $(date -u +%H:%M:%S)"
