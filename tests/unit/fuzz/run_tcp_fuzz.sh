#!/bin/sh
# Bounded libFuzzer run of the NVMe/TCP PDU decoder.
# Usage: run_tcp_fuzz.sh FUZZER|none WORKDIR [SECONDS]
# Without a fuzzer (clang's libFuzzer runtime missing) it skips, except in CI
# (CI set), where the runtime is installed by scripts/install-deps.sh test.
set -u
if [ "$1" = none ] || [ ! -x "$1" ]; then
	echo "clang with libFuzzer (clang, libclang-rt-14-dev) not available"
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi
secs=${3:-${AISIO_TCP_FUZZ_SECONDS:-20}}
corpus="$2/tcp-fuzz-corpus"
mkdir -p "$corpus"
# seeds (first byte: bit 0 header digest, bit 1 data digest, bit 2 waiting for ICResp):
# a CapsuleResp, a C2HData with SUCCESS|LAST for 512 bytes, an R2T, a TermReq, an ICResp
printf '\000\005\000\030\000\030\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\000\000\000' > "$corpus/rsp"
printf '\000\007\014\030\030\030\002\000\000\001\000\000\000\000\000\000\000\000\002\000\000\000\000\000\000' > "$corpus/c2h"
printf '\000\011\000\030\000\030\000\000\000\001\000\125\000\000\000\000\000\000\000\020\000\000\000\000\000' > "$corpus/r2t"
printf '\000\003\000\030\000\040\000\000\000\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' > "$corpus/term"
{ printf '\004\001\000\200\000\200\000\000\000\000\000\000\000\000\020\000\000'; head -c 112 /dev/zero; } > "$corpus/icresp"
exec "$1" -max_total_time="$secs" -max_len=300 -print_final_stats=1 -rss_limit_mb=2048 \
	-artifact_prefix="$2/tcp-fuzz-" "$corpus"
