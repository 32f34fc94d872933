#!/usr/bin/env bash
# GPU-initiated I/O on a GPU host: cuda-run against a memory-backed model
# moves real data into GPU memory (every byte read goes through the GPU DMA
# provider) and does not crash; cuda-verify finds no mismatch through the
# GPU queues and through the driver's host queues; perf run --mem gpu.
# Skipped without a GPU, unless AISIO_REQUIRE_GPU=1 (then it fails).
. "$(dirname "$0")/cli_lib.sh"
if ! { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }; then
	if [ "${AISIO_REQUIRE_GPU:-0}" = 1 ]; then
		echo "FAIL: AISIO_REQUIRE_GPU=1 but no usable GPU (nvidia-smi -L)"
		exit 1
	fi
	echo "no GPU: skipped"
	exit 77
fi

# jget KEY FILE: the first numeric value of "KEY" in a JSON line.
jget() {
	grep -o "\"$1\":[0-9.]*" "$2" | head -1 | cut -d: -f2
}

# run NAME ARGS...: aisio ARGS, exit 0 expected; stdout in $TDIR/NAME.out
run() {
	local name=$1 rc
	shift
	timeout 240 "$AISIO" "$@" >"$TDIR/$name.out" 2>"$TDIR/$name.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "$name: aisio $* exited $rc: $(tail -3 "$TDIR/$name.err")"
		return 1
	fi
	return 0
}

# cuda-run on a data-moving model: reads land in GPU memory through the copy engines.
cuda_run_data() {
	local name=$1 iosize=$2
	shift 2
	run "$name" perf cuda-run --json --iosize "$iosize" "$@" || return
	local ios errs tmo bytes copies failed
	ios=$(jget ios "$TDIR/$name.out")
	errs=$(jget errors "$TDIR/$name.out")
	tmo=$(jget timeouts "$TDIR/$name.out")
	bytes=$(jget dma_bytes "$TDIR/$name.out")
	copies=$(jget dma_copies "$TDIR/$name.out")
	failed=$(jget dma_failed "$TDIR/$name.out")
	if [ -z "$ios" ] || [ "$ios" -eq 0 ]; then
		fail "$name: no commands completed: $(cat "$TDIR/$name.out")"
	elif [ "$errs" != 0 ] || [ "$tmo" != 0 ] || [ "$failed" != 0 ]; then
		fail "$name: errors $errs, timeouts $tmo, failed DMA batches $failed"
	elif [ "$bytes" != $((ios * iosize)) ] || [ "$copies" -eq 0 ]; then
		fail "$name: $ios reads of $iosize B but the model copied $bytes B into GPU memory ($copies copies)"
	else
		echo "ok: $name: $ios reads, $bytes B copied into GPU memory in $copies copies"
	fi
}

# The case that died with SIGSEGV: 16 memory-backed controllers, no null namespace.
cuda_run_data run_mem16 512 --ctrls 16 --nqueues 16 --qdepth 64 --runtime 1 emu:1G
# Issue 11's lost completions, exactly as reported: 16 memory-backed
# controllers, 512 B, text output, default runtime. Every command must
# complete (exit 0, no errors or timeouts in the row, no failed DMA batch)
# and well before the 5 s GPU timeout would have ended the kernel.
lost_case() {
	local out=$TDIR/lost16.out t0 t1 rc
	t0=$(date +%s)
	timeout 240 "$AISIO" perf cuda-run --ctrls 16 --nqueues 16 --qdepth 64 --iosize 512 emu:1G >"$out" 2>&1
	rc=$?
	t1=$(date +%s)
	local row errs
	row=$(awk '$1 == 16 && $2 == 64 && $4 == 512' "$out")
	errs=$(echo "$row" | awk '{print $9}')
	if [ $rc -ne 0 ] || [ -z "$row" ] || [ "$errs" != 0 ] || ! grep -q 'failed batches 0' "$out"; then
		fail "cuda-run --ctrls 16 --nqueues 16 --qdepth 64 --iosize 512 emu:1G: exit $rc, errors+timeouts '${errs}': $(cat "$out")"
	elif [ $((t1 - t0)) -ge 60 ]; then
		fail "cuda-run --ctrls 16 ... emu:1G took $((t1 - t0)) s for a 2 s run: $(cat "$out")"
	else
		echo "ok: cuda-run --ctrls 16 --nqueues 16 --qdepth 64 --iosize 512 emu:1G: $(echo "$row" | awk '{print $5}') IOPS, 0 errors or timeouts"
	fi
}
lost_case

# Two pages per command (PRP2) and PRP lists from the driver's builder.
cuda_run_data run_mem_8k 8192 --ctrls 2 --nqueues 4 --qdepth 16 --runtime 0.5 emu:256M
cuda_run_data run_mem_64k 65536 --ctrls 2 --nqueues 4 --qdepth 16 --runtime 0.5 emu:256M

# A null namespace moves nothing and keeps identity DMA.
if run run_null perf cuda-run --json --nqueues 4 --qdepth 8 --runtime 0.5 emu:64M,null; then
	if [ "$(jget dma_copies "$TDIR/run_null.out")" != 0 ] || [ "$(jget ios "$TDIR/run_null.out")" = 0 ]; then
		fail "run_null: $(cat "$TDIR/run_null.out")"
	else
		echo "ok: run_null: $(jget ios "$TDIR/run_null.out") commands, no copies"
	fi
fi

# Data integrity, GPU queues and the driver's host queues.
for args in "--size 16M" "--size 16M --iosize 8192 --per-thread 2 --nqueues 4 --ctrls 2"; do
	# shellcheck disable=SC2086
	if run verify perf cuda-verify --json $args; then
		v=$TDIR/verify.out
		if ! grep -q '"result":"PASS"' "$v" || [ "$(jget gpu_read_mismatches "$v")" != 0 ] ||
			[ "$(jget host_read_mismatches "$v")" != 0 ] || [ "$(jget host_read_errors "$v")" != 0 ] ||
			[ "$(jget read "$v")" != "$(jget commands "$v")" ]; then
			fail "cuda-verify $args: $(cat "$v")"
		else
			echo "ok: cuda-verify $args: $(jget commands "$v") commands, 0 mismatches"
		fi
	fi
done

# CPU-initiated I/O into GPU memory through the driver's queue pairs.
for mem in gpu host; do
	if run p2p_$mem perf run --mem $mem --json --runtime 0.5 --ctrls 2 emu:64M; then
		o=$TDIR/p2p_$mem.out
		if [ "$(jget errors "$o")" != 0 ] || [ "$(jget ios "$o")" = 0 ]; then
			fail "perf run --mem $mem: $(cat "$o")"
		elif [ $mem = gpu ] && [ "$(jget dma_copies "$o")" = 0 ]; then
			fail "perf run --mem gpu: no copies into GPU memory: $(cat "$o")"
		else
			echo "ok: perf run --mem $mem: $(jget ios "$o") commands, $(jget dma_copies "$o") copies"
		fi
	fi
done
finish
