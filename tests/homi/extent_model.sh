#!/bin/sh
# The extent service on the device model: an XFS image made with mkfs.xfs -p
# (no root, no loop device) holds a dataset whose bytes are a function of
# (path, offset) (include/aisio/pattern.h); homid serves the image through
# the model, and a client reads every file through the extents homid's XFS
# decoder gives, checking every byte, with 512-byte and 4 KiB LBAs, direct
# and mediated, and through the decoder in its own process on emu: and
# file: devices; bad paths are refused with the right error.
# Usage: extent_model.sh HOMID EXTENT_TOOL WORKDIR
set -u
homid=$1 tool=$2 work=$3/extent-model
if ! command -v mkfs.xfs >/dev/null; then
	echo "mkfs.xfs (xfsprogs) not installed"
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi
rm -rf "$work"
mkdir -p "$work/src" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; rm -rf "$work"' EXIT

"$tool" gen "$work/src" "$work/proto" >"$work/paths" || { echo "FAIL: gen"; exit 1; }
truncate -s 128M "$work/img"
# the small-file-system override mkfs.xfs takes from its test suite's environment
TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f -p "$work/proto" "$work/img" ||
	{ echo "FAIL: mkfs.xfs -p"; exit 1; }
sum=$(md5sum <"$work/img")
echo "image: $(wc -l <"$work/paths") files"

for lbads in 512 4096; do
	sock=$work/sock
	"$homid" --foreground --socket "$sock" --log-level info \
		--ctrl "emu:128M,lbads=$lbads,file=$work/img" 2>"$work/homid.log" &
	pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done # 30 s at most
	[ -S "$sock" ] || { cat "$work/homid.log"; echo "FAIL: homid did not start"; exit 1; }
	for mode in mediated direct; do
		# shellcheck disable=SC2046
		"$tool" verify "homi:$sock,mode=$mode" image / $(cat "$work/paths") ||
			fail "lbads=$lbads $mode: extent reads"
	done
	uri=homi:$sock,mode=mediated
	"$tool" expect ENOENT "$uri" image /nothing/here || fail "a missing file"
	"$tool" expect EISDIR "$uri" image /d1/d2 || fail "a directory"
	"$tool" expect ENOTDIR "$uri" image /tiny/x || fail "a file as a directory"
	"$tool" expect EXDEV "$uri" image /d1/../../etc/passwd || fail "'..'"
	"$tool" expect EXDEV "$uri" mounted "$work/src/0" || fail "a path on no export"
	grep -q "XFS decoded" "$work/homid.log" || fail "homid's log does not name the decode"
	stop
done
# a homid controller with no file system on it
"$homid" --foreground --socket "$work/sock" --ctrl emu:16M 2>"$work/homid.log" &
pid=$!
i=0
while [ ! -S "$work/sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done # 30 s at most
"$tool" expect EINVAL "homi:$work/sock" image /tiny || fail "a namespace without XFS"
stop
# other devices: the decoder in the client's process; a mounted file needs homid
# shellcheck disable=SC2046
"$tool" verify "emu:128M,file=$work/img" image / $(cat "$work/paths") || fail "emu: in-process"
# shellcheck disable=SC2046
"$tool" verify "file:$work/img" image / $(cat "$work/paths") || fail "file: (psync)"
"$tool" expect EOPNOTSUPP "file:$work/img" mounted /tiny || fail "a mounted path on a non-homi device"
"$tool" expect EXDEV "file:$work/img" image /d1/../tiny || fail "'..' on a local device"
[ "$(md5sum <"$work/img")" = "$sum" ] || fail "the image changed"
[ $fails -eq 0 ] || { echo "FAIL: $fails check(s)"; exit 1; }
echo "PASS"
