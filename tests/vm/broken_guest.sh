#!/usr/bin/env bash
# A broken guest must be reported as a failure within its timeout, never hang:
#   - a command that hangs, with a 30 s limit;
#   - a kernel command line naming an init that does not exist (panic);
#   - a command's exit status passes through unchanged.
# Exit: 0 pass, 1 fail, 77 testbed unavailable (1 when CI=true).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
run=$repo/testbed/run.sh
fails=0

# expect NAME LIMIT WANT_RC run.sh-args...: WANT_RC "nonzero" means any failure.
expect() {
	local name=$1 limit=$2 want=$3 start rc secs
	shift 3
	start=$(date +%s)
	"$run" --quiet "$@" >/dev/null 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" = 77 ]; then
		echo "testbed unavailable"
		[ "${CI:-}" = true ] && exit 1
		exit 77
	fi
	if [ "$want" = nonzero ] && [ "$rc" != 0 ] || [ "$rc" = "$want" ]; then
		if [ "$secs" -le "$limit" ]; then
			echo "PASS: $name: status $rc after ${secs}s (limit ${limit}s)"
			return
		fi
	fi
	echo "FAIL: $name: status $rc after ${secs}s (wanted $want within ${limit}s)"
	fails=$((fails + 1))
}

expect "hanging command" 45 124 --timeout 30 -- sleep 3600
expect "missing init panics" 120 nonzero --timeout 110 --append "rdinit=/no/such/init" -- true
expect "exit status passes through" 120 7 --timeout 110 -- sh -c 'exit 7'
[ "$fails" = 0 ]
