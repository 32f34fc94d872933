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
finish
