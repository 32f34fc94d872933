#!/usr/bin/env bash
# Issue 11 on the GPU host, from a checkout root: build with CUDA (sm_90),
# then the GPU checks, each printed PASS or FAIL:
#  - the shared ring headers as CUDA device code and the ring position unit test
#  - the device model behind the GPU DMA provider (tests/model/gpu_emu_pcif)
#  - tests/host/cuda_gpu.sh with AISIO_REQUIRE_GPU=1 (a missing GPU fails):
#    cuda-run on memory-backed models (the case that died with SIGSEGV:
#    --ctrls 16 --nqueues 16 --qdepth 64 --runtime 1 emu:1G) moves every
#    byte into GPU memory, null namespaces still work, cuda-verify finds 0
#    mismatches, perf run --mem gpu|host through the driver's queue pairs
#  - the crash case again in text form, for the record
#  - informational timings (CHECK_PERF=0 leaves them out)
# usage: bench/gpu/check-issue11.sh [BUILD_DIR]   (exit 0: everything passed)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build-gpu}
export PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH
fails=0
verdict() { # NAME RC
	if [ "$2" -eq 0 ]; then echo "PASS: $1"; else echo "FAIL: $1 (exit $2)"; fails=$((fails + 1)); fi
}

echo "== $(date -u) on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
git log -1 --format='commit %H' 2>/dev/null || true
if command -v meson >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1; then
	[ -f "$B/build.ninja" ] || meson setup "$B" -Dcuda=enabled >"$B.setup.log" 2>&1 ||
		{ tail -30 "$B.setup.log"; echo "FAIL: meson setup"; exit 1; }
	ninja -C "$B" >"$B.build.log" 2>&1
	rc=$?
	[ $rc -ne 0 ] && tail -40 "$B.build.log"
	verdict "build ($B, CUDA sm_90)" $rc
	[ $rc -ne 0 ] && exit 1
	AISIO=$B/aisio
	meson test -C "$B" --print-errorlogs ring ring_pos spec_cuda gpu_emu_pcif
	verdict "unit/model tests: ring ring_pos spec_cuda gpu_emu_pcif" $?
else
	echo "no meson/ninja: building the tool only (bench/gpu/build.sh, gcc + nvcc -arch=sm_90)"
	AISIO=$(bench/gpu/build.sh "$B")
	rc=$?
	verdict "build (direct)" $rc
	[ $rc -ne 0 ] && exit 1
fi

echo "== tests/host/cuda_gpu.sh (meson suite gpu)"
AISIO_REQUIRE_GPU=1 bash tests/host/cuda_gpu.sh "$AISIO"
verdict "cuda_gpu (cuda-run with real data, cuda-verify, perf run --mem)" $?

echo "== \$ aisio perf cuda-run --ctrls 16 --nqueues 16 --qdepth 64 --runtime 1 emu:1G"
timeout 300 "$AISIO" perf cuda-run --ctrls 16 --nqueues 16 --qdepth 64 --runtime 1 emu:1G
verdict "cuda-run on 16 memory-backed controllers (was SIGSEGV)" $?

echo "== \$ aisio perf cuda-verify"
timeout 300 "$AISIO" perf cuda-verify
verdict "cuda-verify (defaults)" $?

# Informational, not pass/fail: the device code now runs on the nvme_ring.h
# rings and perf run --mem on the driver's queue pairs. Same commands as
# bench/gpu/run.sh, to compare with bench/gpu/results/2026-11-27-h200/
# (sweep_qd_nq.txt: 16 x 64 null; p2p.txt: 4 KiB, 4 controllers). Three runs each.
if [ "${CHECK_PERF:-1}" = 1 ]; then
	for run in 1 2 3; do
		echo "== perf (informational) run $run"
		timeout 120 "$AISIO" perf cuda-run --ctrls 16 --nqueues 16,64 --qdepth 64 --runtime 1 --json emu:1G,null
		for u in emu:1G,null emu:1G; do
			timeout 120 "$AISIO" perf run --mem gpu --ctrls 4 --threads 4 --qdepth 32 --iosize 4096 --runtime 1 \
				--json $u
		done
	done
fi

if [ $fails -eq 0 ]; then echo "check-issue11: PASS"; else echo "check-issue11: FAIL ($fails)"; fi
[ $fails -eq 0 ]
