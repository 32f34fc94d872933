#!/bin/sh
# Bounded libFuzzer run of the XFS decoder on the 'small' test image.
# Usage: run_fuzz.sh FUZZER|none AISIO IMGDIR [SECONDS]
# Without a fuzzer (clang's libFuzzer runtime missing) it skips, except in CI
# (CI set), where the runtime is installed by scripts/install-deps.sh test.
set -u
if [ "$1" = none ] || [ ! -x "$1" ]; then
	echo "clang with libFuzzer (clang, libclang-rt-14-dev) not available"
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi
here=$(dirname "$0")
python3 "$here/../mkimage.py" "$2" "$3" small
rc=$?
[ $rc -eq 0 ] || exit $rc
secs=${4:-${AISIO_XFS_FUZZ_SECONDS:-60}}
corpus="$3/fuzz-corpus"
mkdir -p "$corpus"
AISIO_XFS_FUZZ_IMAGE="$3/small.img" "$1" -max_total_time="$secs" -max_len=1281 \
	-print_final_stats=1 -rss_limit_mb=4096 -artifact_prefix="$3/fuzz-" "$corpus"
