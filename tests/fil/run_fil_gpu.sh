#!/usr/bin/env bash
# aisio fil run --path gpu on a GPU host: small files and large files land in
# GPU memory through staging buffers (--xfer stage) and through registered
# page-cache pages (--xfer map); the check kernel verifies every byte on the
# GPU, and finds a corrupted byte with its file and offset.
# Skipped without a GPU, unless AISIO_REQUIRE_GPU=1 (then it fails).
# AISIO_FIL_GPU_MOCK=1: AISIO is built against tests/fil/cuda_mock (the CUDA
# runtime on the CPU), which checks the host side of the path with no GPU.
# Usage: run_fil_gpu.sh AISIO
. "$(dirname "$0")/../host/cli_lib.sh"
CK=${CK_SIZE:-96M}
[ "${AISIO_FIL_GPU_MOCK:-0}" = 1 ] && CK=8M
if [ "${AISIO_FIL_GPU_MOCK:-0}" != 1 ] && ! { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }; then
	if [ "${AISIO_REQUIRE_GPU:-0}" = 1 ]; then
		echo "FAIL: AISIO_REQUIRE_GPU=1 but no usable GPU (nvidia-smi -L)"
		exit 1
	fi
	echo "no GPU: skipped"
	exit 77
fi
jget() { grep -o "\"$1\":[^,}]*" "$2" | head -1 | cut -d: -f2- | tr -d '"'; }
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
gpu_ok() { # gpu_ok NAME DIR ARGS...
	local name=$1 dir=$2
	shift 2
	if ! "$AISIO" fil run --path gpu --json "$@" "$dir" >"$TDIR/$name.json" 2>"$TDIR/$name.err"; then
		fail "$name: fil run --path gpu $* failed: $(cat "$TDIR/$name.err")"
	elif [ "$(jget verify "$TDIR/$name.json")" != ok ] ||
		[ "$(jget bytes "$TDIR/$name.json")" != "$(sed -n 's/^bytes //p' "$dir/.aisio-fil")" ]; then
		fail "$name: not every byte verified: $(cat "$TDIR/$name.json")"
	else
		echo "ok: $name: $(cat "$TDIR/$name.json")"
	fi
}
"$AISIO" fil gen --profile small --files "${NSMALL:-2000}" "$TDIR/small" >/dev/null || fail "gen small"
"$AISIO" fil gen --profile imagenet --files "${NIMAGENET:-500}" "$TDIR/in" >/dev/null || fail "gen imagenet"
"$AISIO" fil gen --profile checkpoint --files 2 --size "$CK" "$TDIR/ck" >/dev/null || fail "gen checkpoint"
gpu_ok small_stage "$TDIR/small"
gpu_ok small_stage_1t "$TDIR/small" --threads 1 --qd 2 --stage 64K --chunk 4K
gpu_ok in_stage "$TDIR/in" --chunk 64K
gpu_ok ck_stage "$TDIR/ck" --chunk 1M
gpu_ok ck_stage_big "$TDIR/ck" --chunk 16M --stage 32M --threads 2
gpu_ok ck_map "$TDIR/ck" --xfer map --chunk 8M
gpu_ok in_map "$TDIR/in" --xfer map --chunk 64K
gpu_ok ck_mix "$TDIR/ck" --xfer mix --chunk 256K --stage 1M --threads 4
gpu_ok small_mix "$TDIR/small" --xfer mix --chunk 64K --stage 64K --threads 4
grep -q '"gpu-map":{"reads":[1-9]' "$TDIR/small_mix.json" && grep -q '"gpu-stage":{"reads":[1-9]' "$TDIR/small_mix.json" ||
	fail "mix: both ways should have served reads: $(cat "$TDIR/small_mix.json")"
grep -q '"gpu-map"' "$TDIR/ck_map.json" || fail "map: no read served by registered pages: $(cat "$TDIR/ck_map.json")"
grep -q 'fallback' "$TDIR/ck_map.json" && fail "map: a fallback on this GPU: $(cat "$TDIR/ck_map.json")"
if [ "${AISIO_FIL_GPU_MOCK:-0}" = 1 ]; then
	# a refused registration: the unit goes through staging, counted and said
	MOCK_REG_FAIL=1 gpu_ok ck_map_refused "$TDIR/ck" --xfer map --chunk 1M
	grep -q '"gpu-stage-fallback":{"reads":[1-9]' "$TDIR/ck_map_refused.json" &&
		grep -q '"note":"cudaHostRegister of page-cache pages refused' "$TDIR/ck_map_refused.json" ||
		fail "map: refused registrations not counted and said: $(cat "$TDIR/ck_map_refused.json")"
fi
victim=$(sed -n 7p "$TDIR/ck/.aisio-fil" | cut -d' ' -f2)
at=$(($(sed -n 7p "$TDIR/ck/.aisio-fil" | cut -d' ' -f1) / 2 + 13))
flip "$TDIR/ck/$victim" $at
expect_fail 1 "verify: $victim at offset $at:" fil run --path gpu "$TDIR/ck"
expect_fail 1 "verify: $victim at offset $at:" fil run --path gpu --xfer map "$TDIR/ck"
victim=$(sed -n 100p "$TDIR/small/.aisio-fil" | cut -d' ' -f2)
flip "$TDIR/small/$victim" 4095
expect_fail 1 "verify: $victim at offset 4095:" fil run --path gpu "$TDIR/small"
finish
