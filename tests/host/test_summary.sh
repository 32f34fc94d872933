#!/usr/bin/env bash
# scripts/test-summary.py: counts, exit status, and under CI=true a suite that
# ran nothing (every test skipped) is a failure named on the summary line.
SUMMARY=${1:?usage: $0 PATH-TO-test-summary.py}
T=$(mktemp -d "${AISIO_TEST_DIR:-/var/tmp}/aisio-summary-XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# log DIR RESULT NAME...: a testlog.json with one line per test.
log() {
	local d=$1 r=$2
	shift 2
	mkdir -p "$T/$d/meson-logs"
	for n in "$@"; do
		printf '{"name": "aisio:%s", "result": "%s"}\n' "$n" "$r"
	done >>"$T/$d/meson-logs/testlog.json"
}
# check WANT_RC WANT_LINE [ENV...]: run on $T/b1 $T/b2, compare exit status and last line.
check() {
	local want_rc=$1 want=$2 out rc
	shift 2
	out=$(env "$@" python3 "$SUMMARY" "$T/b1" "$T/b2" 2>&1)
	rc=$?
	if [ $rc -ne "$want_rc" ] || [ "$(echo "$out" | tail -1)" != "$want" ]; then
		fail "$* -> exit $rc, '$(echo "$out" | tail -1)'; want exit $want_rc, '$want'"
	else
		echo "ok: $* -> exit $rc: $want"
	fi
}

log b1 OK "unit / a" "unit / b"
log b1 SKIP "vm / x" "vm / y"
log b1 OK "host / c"
log b1 SKIP "host / d"
log b2 OK "unit / a" "unit / b"
check 0 "5 passed, 0 failed, 3 skipped" CI=
check 0 "5 passed, 0 failed, 3 skipped" CI=false
check 1 "5 passed, 1 failed, 3 skipped; ran nothing under CI=true: vm in $T/b1 (all 2 skipped)" CI=true
echo "$(env CI=true python3 "$SUMMARY" "$T/b1" "$T/b2")" | grep -q "^FAILED: $T/b1: suite vm ran nothing" ||
	fail "no FAILED line for the empty vm suite"
# A suite with one test that ran is not empty; a failure still fails.
log b1 OK "vm / z"
check 0 "6 passed, 0 failed, 3 skipped" CI=true
log b2 FAIL "host / e"
check 1 "6 passed, 1 failed, 3 skipped" CI=
# Nothing ran at all: a failure with or without CI.
rm -rf "$T/b1" "$T/b2"
log b1 SKIP "unit / a"
log b2 SKIP "unit / a"
check 1 "0 passed, 0 failed, 2 skipped" CI=
check 1 "0 passed, 2 failed, 2 skipped; ran nothing under CI=true: unit in $T/b1 (all 1 skipped), unit in $T/b2 (all 1 skipped)" CI=true

if [ $fails -ne 0 ]; then
	echo "$fails checks failed"
	exit 1
fi
echo PASS
