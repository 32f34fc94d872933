#!/usr/bin/env bash
# The QEMU guest suite, RUNS times back to back, with the machine loaded by
# a parallel build of this tree (rebuilt from clean in a scratch folder,
# over and over, for as long as the runs last): a test that fails only
# when the guest's CPUs are starved shows up here rather than in CI.
#
#   testbed/soak.sh [BUILD_DIR]          (default: build)
#
# Environment: RUNS (5), LOAD (1: load the machine; 0: quiet runs),
# LOAD_JOBS (ninja -j of the load build; default: the number of CPUs),
# OUT (a Markdown table of the runs; default: none), SUITE (vm).
# Prints one line per run and, last, "N passed, N failed" over the runs.
# Exit status 0 only when every run of every test passed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
runs=${RUNS:-5}
load=${LOAD:-1}
jobs=${LOAD_JOBS:-$(nproc)}
suite=${SUITE:-vm}
out=${OUT:-}
work=$(mktemp -d)
loadpid=

stop_load() {
	[ -n "$loadpid" ] || return 0
	kill -TERM -- -"$loadpid" 2>/dev/null
	wait "$loadpid" 2>/dev/null
	loadpid=
}
trap 'stop_load; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

[ -f "$build/build.ninja" ] || { echo "soak: $build is not a configured build (make all first)" >&2; exit 2; }
ninja -C "$build" >/dev/null || { echo "soak: $build does not build" >&2; exit 2; }

if [ "$load" = 1 ]; then
	meson setup "$work/load" "$root" >/dev/null || { echo "soak: cannot set up the load build" >&2; exit 2; }
	# its own process group, so that stopping it stops every compiler
	setsid bash -c 'while :; do ninja -C "$1" -t clean >/dev/null; ninja -C "$1" -j "$2" >/dev/null 2>&1; done' \
		_ "$work/load" "$jobs" &
	loadpid=$!
fi

# the table of the runs so far (rewritten after each run: a cut-off soak keeps its runs)
write_table() {
	[ -n "$out" ] || return 0
	{
		echo "# The $suite suite, $runs runs back to back"
		echo
		echo "\`RUNS=$runs LOAD=$load testbed/soak.sh\` on $(hostname -s), started $started,"
		echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown);"
		echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)."
		[ "$load" = 1 ] && echo "Load: a parallel build of the tree (ninja -j $jobs), from clean, over and over."
		echo
		echo "| run | ok | failed | skipped | seconds | load average (1/5/15 min, at the end) | failed tests |"
		echo "|---|---|---|---|---|---|---|"
		printf '%s' "$rows"
		echo
		echo "$passed passed, $failed failed over $1 of $runs runs."
	} >"$out"
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
passed=0 failed=0 bad_runs=0 rows=""
for r in $(seq "$runs"); do
	t0=$SECONDS
	meson test -C "$build" --no-rebuild --print-errorlogs --suite "$suite" \
		--logbase "soak-$r" >"$work/run.$r" 2>&1
	rc=$?
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$work/run.$r" | tail -n 1)
	nok=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$work/run.$r" | tail -n 1)
	to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$work/run.$r" | tail -n 1)
	skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$work/run.$r" | tail -n 1)
	ok=${ok:-0} nok=$((${nok:-0} + ${to:-0})) skip=${skip:-0}
	names=$(sed -n 's/.*aisio:[a-z]* \/ \([a-z0-9_-]*\) *\(FAIL\|TIMEOUT\).*/\1/p' "$work/run.$r" | sort -u | tr '\n' ' ')
	[ "$rc" = 0 ] && [ "$nok" = 0 ] || { bad_runs=$((bad_runs + 1)); [ "$nok" = 0 ] && nok=1 names="(meson test exit $rc)"; }
	passed=$((passed + ok)) failed=$((failed + nok))
	load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "soak run $r/$runs: $ok ok, $nok failed, $skip skipped in $((SECONDS - t0)) s, load $load_avg${names:+; failed: $names}"
	rows+="| $r | $ok | $nok | $skip | $((SECONDS - t0)) | $load_avg | ${names:-none} |"$'\n'
	# keep each run's log beside the build's own
	cp "$work/run.$r" "$build/meson-logs/soak-$r.out" 2>/dev/null
	write_table "$r"
done
stop_load

echo "$passed passed, $failed failed"
[ "$bad_runs" = 0 ]
