# Shared by the CLI tests: $AISIO is the tool, $TDIR a scratch directory.
AISIO=${1:?usage: $0 PATH-TO-aisio}
TDIR=$(mktemp -d "${AISIO_TEST_DIR:-/var/tmp}/aisio-cli-XXXXXX")
trap 'rm -rf "$TDIR"' EXIT
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# expect_fail "WORDS IN THE MESSAGE" ARGS...: non-zero exit and the words on stderr.
expect_fail() {
	local want=$1 rc
	shift
	"$AISIO" "$@" >"$TDIR/out" 2>"$TDIR/err"
	rc=$?
	if [ $rc -eq 0 ]; then
		fail "aisio $* exited 0, expected an error"
	elif ! grep -qF -- "$want" "$TDIR/err"; then
		fail "aisio $*: message lacks '$want': $(cat "$TDIR/err")"
	else
		echo "ok: aisio $* -> exit $rc: $(head -1 "$TDIR/err")"
	fi
}

finish() {
	if [ $fails -ne 0 ]; then
		echo "$fails checks failed"
		exit 1
	fi
	echo PASS
	exit 0
}
