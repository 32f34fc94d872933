#!/usr/bin/env bash
# The suites that run on the build machine (no guest), ROUNDS times in each
# build, with the CPUs kept busy by BUSY spinning loops: a test that fails
# only when its threads are starved (a sanitizer build on a loaded 2-core
# CI machine) shows up here rather than in CI. testbed/soak.sh does the
# same for the guest suite; run both at once for the heaviest load.
#
#   testbed/hunt.sh [BUILD_DIR...]        (default: build build-asan)
#
# Environment: ROUNDS (3), BUSY (2 spinning loops), JOBS (3 tests at once),
# SUITES ("unit model host xfs").
# Prints one line per round and build, the failed tests with it, and, last,
# "N passed, N failed" over all of them. Each round's log stays in the
# build's meson-logs as hunt-ROUND.txt. Exit status 0 only when nothing failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3} busy=${BUSY:-2} jobs=${JOBS:-3}
read -r -a suites <<<"${SUITES:-unit model host xfs}"
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=("$root/build" "$root/build-asan")
suite_args=()
for s in "${suites[@]}"; do suite_args+=(--suite "$s"); done

for b in "${builds[@]}"; do
	[ -f "$b/build.ninja" ] || { echo "hunt: $b is not a configured build (make all first)" >&2; exit 2; }
	ninja -C "$b" >/dev/null || { echo "hunt: $b does not build" >&2; exit 2; }
done

spinners=()
stop_spinners() {
	[ ${#spinners[@]} -gt 0 ] && kill "${spinners[@]}" 2>/dev/null
	spinners=()
}
trap stop_spinners EXIT
trap 'exit 130' INT TERM
for _ in $(seq "$busy"); do
	bash -c 'while :; do :; done' &
	spinners+=($!)
done

passed=0 failed=0
for r in $(seq "$rounds"); do
	for b in "${builds[@]}"; do
		t0=$SECONDS
		meson test -C "$b" --no-rebuild --print-errorlogs --num-processes "$jobs" "${suite_args[@]}" \
			--logbase "hunt-$r" >/dev/null 2>&1
		log=$b/meson-logs/hunt-$r.txt
		ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
		nok=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
		to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
		ok=${ok:-0} nok=$((${nok:-0} + ${to:-0}))
		[ "$ok" = 0 ] && [ "$nok" = 0 ] && nok=1 # nothing ran: count it as a failure
		names=$(sed -n 's/.*aisio:[a-z]* \/ \([a-z0-9_-]*\) *\(FAIL\|TIMEOUT\).*/\1/p' "$log" | sort -u |
			tr '\n' ' ')
		passed=$((passed + ok)) failed=$((failed + nok))
		echo "hunt round $r/$rounds, $(basename "$b"): $ok ok, $nok failed in $((SECONDS - t0)) s," \
			"load $(cut -d' ' -f1-3 /proc/loadavg)${names:+; failed: $names}"
	done
done
stop_spinners

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
