#!/usr/bin/env bash
# GPU-initiated I/O on a GPU host: cuda-run against a memory-backed model
# moves real data into GPU memory (every byte read goes through the GPU DMA
# provider) and does not crash; cuda-verify finds no mismatch through the
# GPU queues and through the driver's host queues, with memory- and
# file-backed models whose store is registered with CUDA (copies straight
# between it and GPU memory) and with that turned off; perf run --mem gpu.
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

# direct_bytes FILE: bytes the GPU DMA providers copied straight between a registered
# namespace store and GPU memory (their AISIO_GPU_DMA_REPORT lines on stderr)
direct_bytes() {
	awk '/^aisio gpu dma:/ { for (i = 1; i < NF; i++) if ($i == "direct_bytes") s += $(i + 1) }
		END { printf "%.0f\n", s }' "$1"
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

# A file-backed model (page-cached file, registered read-only): every byte read goes
# straight from the registered pages into GPU memory
cuda_run_data run_file_64k 65536 --ctrls 1 --nqueues 4 --qdepth 16 --runtime 0.5 "emu:256M,file=$TDIR/run.img"
if [ -f "$TDIR/run_file_64k.out" ]; then
	db=$(jget dma_direct_bytes "$TDIR/run_file_64k.out")
	if [ -z "$db" ] || [ "$db" != "$(jget dma_bytes "$TDIR/run_file_64k.out")" ]; then
		fail "run_file_64k: want every byte copied straight from the registered store: $(cat "$TDIR/run_file_64k.out")"
	else
		echo "ok: run_file_64k: $db B straight from the registered file pages"
	fi
fi

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

# The same check with one model whose store is registered with CUDA by 4 MiB chunks (copies
# split where they cross a chunk): a file (data from the GPU still staged, the reads direct),
# memory registered at start (both ways direct), and the file with the direct copies off.
for spec in "file=$TDIR/direct.img" "gpu_direct=eager" "file=$TDIR/direct.img,gpu_direct=0"; do
	if AISIO_GPU_DMA_REPORT=1 AISIO_GPU_DIRECT_CHUNK=4M run direct perf cuda-verify --json --size 16M --iosize 8192 \
		--ctrls 1 --nqueues 4 "emu:64M,$spec"; then
		v=$TDIR/direct.out
		db=$(direct_bytes "$TDIR/direct.err")
		if ! grep -q '"result":"PASS"' "$v" || [ "$(jget gpu_read_mismatches "$v")" != 0 ] ||
			[ "$(jget host_read_mismatches "$v")" != 0 ] || [ "$(jget host_read_errors "$v")" != 0 ]; then
			fail "cuda-verify emu:64M,$spec: $(cat "$v")"
		elif [ "${spec#*gpu_direct=0}" != "$spec" ] && [ "$db" != 0 ]; then
			fail "cuda-verify emu:64M,$spec: gpu_direct=0 but $db B went direct: $(grep '^aisio' "$TDIR/direct.err")"
		elif [ "${spec#*gpu_direct=0}" = "$spec" ] && [ "$db" -lt $((16 << 20)) ]; then
			fail "cuda-verify emu:64M,$spec: want the 16 MiB read back straight from the registered store," \
				"$db B went direct: $(grep '^aisio' "$TDIR/direct.err")"
		else
			echo "ok: cuda-verify emu:64M,$spec: 0 mismatches, $db B direct"
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
# ---- The GPU as a client of homid -----------------------------------------
# homid next to the tool (or $HOMID); without it (no libinih) this part is
# skipped, unless AISIO_REQUIRE_HOMI=1. Its model controllers take the
# clients' GPU memory (gpu=0): cuda-run and cuda-verify through homi: move
# data straight into this process's GPU memory.
HOMID=${HOMID:-$(dirname "$AISIO")/homid}
homid_pid=
stop_homid() {
	if [ -n "$homid_pid" ]; then
		kill "$homid_pid" 2>/dev/null
		wait "$homid_pid" 2>/dev/null
		homid_pid=
	fi
}
# start_homid SPEC...: homid on these controllers, on $TDIR/homid.sock; the
# caller's uid may use direct queues (root has every right anyway).
start_homid() {
	local args=() c
	for c in "$@"; do args+=(--ctrl "$c"); done
	printf '[homid]\nsocket = %s\nlog_level = info\n[uid:%s]\nnamespace = 1\naccess = rw\ndirect = yes\nmax_queues = 1024\nmax_depth = 1024\nmax_mem = 8G\n' \
		"$TDIR/homid.sock" "$(id -u)" >"$TDIR/homid.conf"
	"$HOMID" --foreground --config "$TDIR/homid.conf" --socket "$TDIR/homid.sock" "${args[@]}" \
		>"$TDIR/homid.log" 2>&1 &
	homid_pid=$!
	for _ in $(seq 300); do
		"$AISIO" homi status --socket "$TDIR/homid.sock" >/dev/null 2>&1 && return 0
		kill -0 "$homid_pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "homid did not come up: $(tail -5 "$TDIR/homid.log")"
	homid_pid=
	return 1
}
trap 'stop_homid; rm -rf "$TDIR"' EXIT

homi_uris() { # N: homi: URIs for controllers emu0..emuN-1
	local i
	for ((i = 0; i < $1; i++)); do printf 'homi:%s,ctrl=emu%d ' "$TDIR/homid.sock" "$i"; done
}

# homi_ok NAME WHAT: the JSON run NAME completed commands with no error or timeout
homi_ok() {
	local o=$TDIR/$1.out
	if [ "$(jget errors "$o")" != 0 ] || [ "$(jget timeouts "$o")" != 0 ] || [ "$(jget ios "$o")" = 0 ]; then
		fail "$2: $(cat "$o")"
		return 1
	fi
	echo "ok: $2: $(jget ios "$o") commands"
}

if [ ! -x "$HOMID" ]; then
	if [ "${AISIO_REQUIRE_HOMI:-0}" = 1 ]; then
		fail "AISIO_REQUIRE_HOMI=1 but $HOMID is not built (homid needs libinih)"
	else
		echo "skip: GPU clients of homid: $HOMID is not built (homid needs libinih)"
	fi
elif start_homid emu:1G,null,gpu=0 emu:1G,null,gpu=0 emu:256M,gpu=0 emu:64M; then
	# GPU queues from homid on null controllers, and on a memory-backed one
	# whose model copies straight into the client's GPU memory (registered
	# with homid by CUDA IPC handle).
	# shellcheck disable=SC2046
	run homi_null perf cuda-run --json --ctrls 2 --nqueues 4 --qdepth 32 --runtime 0.5 $(homi_uris 2) &&
		homi_ok homi_null "cuda-run through homid, 2 null controllers"
	mem="homi:$TDIR/homid.sock,ctrl=emu2"
	run homi_mem perf cuda-run --json --nqueues 2 --qdepth 16 --iosize 4096 --runtime 0.5 "$mem" &&
		homi_ok homi_mem "cuda-run through homid, memory-backed controller, data into GPU memory"
	if grep -q 'bytes of GPU memory registered on emu2' "$TDIR/homid.log"; then
		echo "ok: homid opened the client's GPU memory on emu2 (its log says so)"
	else
		fail "homid's log does not show the client's GPU memory registered on emu2: $(tail -5 "$TDIR/homid.log")"
	fi
	# A controller started without gpu=N refuses GPU memory, and says how to get it.
	if "$AISIO" perf cuda-run --nqueues 1 --qdepth 4 --runtime 0.2 "homi:$TDIR/homid.sock,ctrl=emu3" \
		>"$TDIR/homi_nogpu.out" 2>&1; then
		fail "cuda-run on a homid controller without gpu=N succeeded: $(cat "$TDIR/homi_nogpu.out")"
	elif grep -q 'gpu=N' "$TDIR/homi_nogpu.out"; then
		echo "ok: a controller without gpu=N refuses GPU memory: $(grep -o 'emu3 was started.*' "$TDIR/homi_nogpu.out" | head -1)"
	else
		fail "cuda-run on a controller without gpu=N: unclear error: $(cat "$TDIR/homi_nogpu.out")"
	fi
	# homi_verify NAME ARGS...: cuda-verify through homid: PASS, 0 mismatches in what
	# the GPU read and in what the host read back through the same session
	homi_verify() {
		local name=$1 v=$TDIR/$1.out
		shift
		run "$name" perf cuda-verify --json "$@" "$mem" || return 1
		if ! grep -q '"result":"PASS"' "$v" || [ "$(jget gpu_read_mismatches "$v")" != 0 ] ||
			[ "$(jget host_read_mismatches "$v")" != 0 ] || [ "$(jget host_read_errors "$v")" != 0 ] ||
			[ "$(jget read "$v")" != "$(jget commands "$v")" ] || [ "$(jget errors "$v")" != 0 ]; then
			fail "cuda-verify $* through homid: $(cat "$v")"
			return 1
		fi
		echo "ok: cuda-verify $* through homid: $(jget commands "$v") commands, 0 mismatches"
	}
	homi_verify homi_verify --size 16M
	homi_verify homi_verify8k --size 8M --iosize 8192 --per-thread 2 --nqueues 4
	# Lifecycle: a GPU client killed with I/O in flight (homid's model copying
	# into its GPU memory) is reclaimed (queues deleted, then its memory and
	# GPU memory); the next GPU client gets the same queue IDs as the first
	# and verifies with cuda-verify, 0 mismatches.
	qids_a=$(grep -o '"qids":"[0-9,]*"' "$TDIR/homi_mem.out")
	"$AISIO" perf cuda-run --json --nqueues 2 --qdepth 16 --iosize 4096 --runtime 60 "$mem" \
		>"$TDIR/homi_kill.out" 2>&1 &
	victim=$!
	sleep 4
	if ! kill -0 $victim 2>/dev/null; then
		fail "the GPU client to be killed ended early: $(cat "$TDIR/homi_kill.out")"
	else
		kill -9 $victim
		wait $victim 2>/dev/null
		sleep 1
		"$AISIO" homi status --json --socket "$TDIR/homid.sock" >"$TDIR/st.json" 2>&1
		if ! kill -0 "$homid_pid" 2>/dev/null; then
			fail "homid died with its GPU client: $(tail -5 "$TDIR/homid.log")"
		elif ! grep -q '"clients": \[\]' "$TDIR/st.json" || grep -q '"qids_used": [1-9]' "$TDIR/st.json"; then
			fail "a killed GPU client was not reclaimed: $(cat "$TDIR/st.json")"
		else
			echo "ok: a GPU client killed with I/O in flight was reclaimed (no client, no queue ID left)"
		fi
		if homi_verify homi_again --size 16M --nqueues 2 --qdepth 16; then
			qids_c=$(grep -o '"qids":"[0-9,]*"' "$TDIR/homi_again.out")
			if [ -z "$qids_a" ] || [ "$qids_a" != "$qids_c" ]; then
				fail "the GPU client after the killed one got queue IDs $qids_c, the first got $qids_a"
			else
				echo "ok: the next GPU client (cuda-verify) got the same queue IDs ($qids_c)"
			fi
		fi
	fi
	if ! kill -0 "$homid_pid" 2>/dev/null; then
		fail "homid is gone: $(tail -5 "$TDIR/homid.log")"
	fi
	stop_homid
fi

finish
