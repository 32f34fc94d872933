#!/bin/sh
# Bounded libFuzzer run of homid's message decoder.
# Usage: run_fuzz.sh FUZZER|none WORKDIR [SECONDS]
# Without a fuzzer (clang's libFuzzer runtime missing) it skips, except in CI
# (CI set), where the runtime is installed by scripts/install-deps.sh test.
set -u
if [ "$1" = none ] || [ ! -x "$1" ]; then
	echo "clang with libFuzzer (clang, libclang-rt-14-dev) not available"
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi
secs=${3:-${AISIO_HOMI_FUZZ_SECONDS:-20}}
corpus="$2/homi-fuzz-corpus"
mkdir -p "$corpus"
# a valid HELLO and a valid MEM_REG (first byte: descriptor count and cut flag)
printf '\000HOMI\001\000\001\000\010\000\000\000\001\000\000\000\001\000\001\000\000\000\000\000' > "$corpus/hello"
printf '\001HOMI\001\000\004\000\020\000\000\000\002\000\000\000\000\020\000\000\000\000\000\000\000\000\000\000\000\000\000\000' > "$corpus/memreg"
# the extent service: FILE_MAP of "/a" (a 4112-byte body) and FILE_CHECK
{ printf '\000HOMI\001\000\015\000\020\020\000\000\003\000\000\000\001\000\002\000'
  head -c 12 /dev/zero; printf '/a'; head -c 4094 /dev/zero; } > "$corpus/filemap"
printf '\000HOMI\001\000\016\000\010\000\000\000\004\000\000\000\001\000\000\000\000\000\000\000' > "$corpus/filecheck"
# a GPU_MEM_REG (96-byte body: kind 1, length 4096, a zero handle)
{
	printf '\000HOMI\001\000\017\000\140\000\000\000\003\000\000\000\001\000\000\000\000\000\000\000\000\020\000\000\000\000\000\000'
	head -c 80 /dev/zero
} > "$corpus/gpumemreg"
exec "$1" -max_total_time="$secs" -max_len=4200 -print_final_stats=1 -rss_limit_mb=2048 \
	-artifact_prefix="$2/homi-fuzz-" "$corpus"
