#!/usr/bin/env bash
# Without a usable GPU the GPU subcommands exit non-zero and say why
# (no GPU or driver, or a build without CUDA). Skipped on a GPU host.
. "$(dirname "$0")/cli_lib.sh"
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
	echo "a GPU is present: skipped"
	exit 77
fi
check() {
	local rc
	"$AISIO" "$@" >"$TDIR/out" 2>"$TDIR/err"
	rc=$?
	if [ $rc -eq 0 ]; then
		fail "aisio $* exited 0 without a GPU"
	elif ! grep -qE "no usable GPU|built without CUDA" "$TDIR/err"; then
		fail "aisio $*: unclear message: $(cat "$TDIR/err")"
	else
		echo "ok: aisio $* -> exit $rc: $(head -1 "$TDIR/err")"
	fi
}
check perf cuda-run
check perf cuda-run --nqueues 4 --qdepth 8 emu:64M,null
check perf cuda-run --ctrls 16 --nqueues 16 --qdepth 64 --runtime 1 emu:1G
check perf cuda-verify
check perf run --mem gpu emu:64M
# files into GPU memory: said before any file is looked at
check fil run --path gpu-nvme "emu:64M,file=$TDIR/none.img"
check fil run --path gpu --xfer map "$TDIR"
# Through homid (when built): the same clear refusal, and homid itself
# refuses a controller that would take GPU memory (gpu=0) without a GPU.
HOMID=${HOMID:-$(dirname "$AISIO")/homid}
if [ -x "$HOMID" ]; then
	sock=$TDIR/homid.sock
	"$HOMID" --foreground --socket "$sock" --ctrl emu:16M >"$TDIR/homid.log" 2>&1 &
	hpid=$!
	for _ in $(seq 300); do # 30 s: a sanitizer build on a loaded machine starts slowly
		"$AISIO" homi status --socket "$sock" >/dev/null 2>&1 && break
		kill -0 $hpid 2>/dev/null || break
		sleep 0.1
	done
	check perf cuda-run --nqueues 1 --qdepth 4 "homi:$sock"
	check perf cuda-verify --size 1M "homi:$sock"
	check fil run --path homi --mem gpu "homi:$sock"
	check fil run --path gpu-nvme "homi:$sock"
	# cuda-verify through homid takes one session: refused before any GPU
	# work (a build without CUDA refuses every GPU subcommand first)
	"$AISIO" perf cuda-verify --ctrls 2 --nqueues 2 "homi:$sock" >"$TDIR/out" 2>"$TDIR/err"
	rc=$?
	if [ $rc -eq 2 ] && grep -qE -- "--ctrls 1|built without CUDA" "$TDIR/err"; then
		echo "ok: cuda-verify --ctrls 2 homi: -> exit 2: $(head -1 "$TDIR/err")"
	else
		fail "cuda-verify --ctrls 2 homi: exit $rc: $(cat "$TDIR/err")"
	fi
	kill "$hpid" 2>/dev/null
	wait "$hpid" 2>/dev/null
	if timeout 20 "$HOMID" --foreground --socket "$TDIR/h2.sock" --ctrl emu:16M,gpu=0 >"$TDIR/h2.log" 2>&1; then
		fail "homid --ctrl emu:16M,gpu=0 started without a GPU"
	elif grep -qE "gpu=0.*needs CUDA: (no usable GPU|this aisio was built without CUDA)" "$TDIR/h2.log"; then
		echo "ok: homid --ctrl emu:16M,gpu=0 without a GPU: $(head -1 "$TDIR/h2.log")"
	else
		fail "homid --ctrl emu:16M,gpu=0 without a GPU: unclear message: $(cat "$TDIR/h2.log")"
	fi
fi
finish
