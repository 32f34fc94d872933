# Shared by the CLI tests: $AISIO is the tool, $TDIR a scratch directory.
AISIO=${1:?usage: $0 PATH-TO-aisio}
TDIR=$(mktemp -d "${AISIO_TEST_DIR:-/var/tmp}/aisio-cli-XXXXXX")
trap 'rm -rf "$TDIR"' EXIT
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# expect_fail RC "WORDS IN THE MESSAGE" ARGS...: exit status RC (2: usage error,
# 1: the operation failed) and the words on stderr; both are checked.
expect_fail() {
	local want_rc=$1 want=$2 rc
	shift 2
	"$AISIO" "$@" >"$TDIR/out" 2>"$TDIR/err"
	rc=$?
	if [ $rc -ne "$want_rc" ]; then
		fail "aisio $* exited $rc, expected $want_rc: $(cat "$TDIR/err")"
	elif ! grep -qF -- "$want" "$TDIR/err"; then
		fail "aisio $*: message lacks '$want': $(cat "$TDIR/err")"
	else
		echo "ok: aisio $* -> exit $rc: $(head -1 "$TDIR/err")"
	fi
}

# size_mtime FILE: "SIZE MTIME_NS", to show that a command left a file alone.
size_mtime() {
	stat -c '%s %.9Y' "$1"
}

finish() {
	if [ $fails -ne 0 ]; then
		echo "$fails checks failed"
		exit 1
	fi
	echo PASS
	exit 0
}
