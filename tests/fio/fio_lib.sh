# Shared by the fio engine tests: skip rules, a scratch dir and a job runner.
# Environment from tests/fio/meson.build: AISIO_FIO_ENGINE (the engine, empty
# when it was not built) and AISIO_FIO_WHY (why not).
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}
finish() {
	if [ $fails -ne 0 ]; then
		echo "$fails checks failed"
		exit 1
	fi
	echo PASS
	exit 0
}
skip() {
	echo "SKIP: $*"
	if [ "${CI:-}" = true ]; then
		echo "FAIL: under CI=true the fio engine tests must run" >&2
		exit 1
	fi
	exit 77
}
[ -n "${AISIO_FIO_ENGINE:-}" ] || skip "the fio engine was not built: ${AISIO_FIO_WHY:-no reason given}"
[ -f "$AISIO_FIO_ENGINE" ] || skip "the fio engine $AISIO_FIO_ENGINE is missing"
command -v fio >/dev/null || skip "fio is not installed (scripts/install-deps.sh test)"
TDIR=$(mktemp -d "${AISIO_TEST_DIR:-/var/tmp}/aisio-fio-XXXXXX")
trap 'rm -rf "$TDIR"' EXIT
# fio leaves verify state files (local-*-verify.state) in its working directory.
cd "$TDIR" || exit 1
ENGINE="external:$AISIO_FIO_ENGINE"

# run_ok WHAT CHECK ARGS...: fio with ARGS through the engine, JSON output;
# CHECK is a Python expression over the list of jobs J that must hold
# (besides exit 0, no job error and no crash).
run_ok() {
	local what=$1 check=$2 rc
	shift 2
	fio --ioengine="$ENGINE" --output-format=json --output="$TDIR/out.json" "$@" \
		>"$TDIR/stdout" 2>"$TDIR/stderr"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "$what: fio exited $rc: $(tail -n 5 "$TDIR/stderr" "$TDIR/out.json")"
		return
	fi
	if python3 - "$TDIR/out.json" "$check" <<'PY'; then
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text[text.index("{"):])
J = d["jobs"]
def ios(j, dd):
    return j[dd]["total_ios"]
for j in J:
    assert j["error"] == 0, (j["jobname"], j["error"])
assert eval(sys.argv[2]), [(j["jobname"], {k: j[k]["total_ios"] for k in ("read", "write", "trim", "sync")}) for j in J]
print("ok: %s" % ", ".join("%s r=%d w=%d t=%d s=%d" % (j["jobname"], ios(j, "read"), ios(j, "write"), ios(j, "trim"), ios(j, "sync")) for j in J), end="")
PY
		echo " ($what)"
	else
		fail "$what: check '$check' failed"
	fi
}

# run_fails WHAT "WORDS" ARGS...: fio must fail (exit 1, not a signal) and
# print WORDS; a crash or a pass is a failure.
run_fails() {
	local what=$1 want=$2 rc
	shift 2
	fio --ioengine="$ENGINE" "$@" >"$TDIR/stdout" 2>"$TDIR/stderr"
	rc=$?
	if [ $rc -eq 0 ]; then
		fail "$what: fio succeeded: $(tail -n 3 "$TDIR/stdout")"
	elif [ $rc -gt 128 ] || grep -qiE "signal|segmentation|core dumped|assert" "$TDIR/stderr" "$TDIR/stdout"; then
		fail "$what: fio crashed (exit $rc): $(tail -n 5 "$TDIR/stderr")"
	elif ! grep -qF -- "$want" "$TDIR/stderr" "$TDIR/stdout"; then
		fail "$what: no '$want' in: $(cat "$TDIR/stderr")"
	else
		echo "ok: $what -> exit $rc: $(grep -F -- "$want" "$TDIR/stderr" "$TDIR/stdout" | head -n1 | cut -d: -f2-)"
	fi
}
