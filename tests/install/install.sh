#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install.sh BUILD SRCROOT VERSION HOMID(true|false): `meson install --destdir`
# of BUILD into a temporary root, then checks what a user gets there: the
# library (SONAME and links), every public header, aisio.pc, the programs,
# the man pages, the systemd unit and the licence; and that a program built
# with `pkg-config --cflags --libs aisio` against that root does verified
# I/O on the device model (tests/install/consumer.c). Exit 0 pass, 1 fail.
set -uo pipefail
build=$1 srcroot=$2 version=$3 homid=$4
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/install/lib.sh
. "$here/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aisio-install.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
root=$tmp/root
mkdir -p "$tmp/work"

out=$(meson install -C "$build" --no-rebuild --destdir "$root" 2>&1) || {
	printf '%s\n' "$out" >&2
	fail "meson install --destdir $root"
}
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
	'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))') ||
	fail "meson introspect prefix"
top=$root$prefix
[ -d "$top" ] || fail "nothing installed under $top"
echo "installed under $top:"
(cd "$root" && find . -type f -o -type l | sort | sed 's/^\./  /')

# Library and pkg-config file.
pc=$(find "$top" -name aisio.pc)
libdir=$(dirname "$(dirname "$pc")")
soname_check "$libdir"
grep -qx "Version: $version" "$pc" || fail "aisio.pc: no 'Version: $version': $(cat "$pc")"
if find "$root" -name 'libaisio*.a' | grep -q .; then
	fail "a static library is installed: $(find "$root" -name 'libaisio*.a')"
fi

# Every public header, and nothing else, under include/aisio.
want=$(cd "$srcroot/include" && find aisio -name '*.h' | sort)
have=$(cd "$top/include" && find aisio -type f | sort)
[ "$want" = "$have" ] || fail "installed headers differ from include/aisio: $(diff <(echo "$want") <(echo "$have"))"

# Programs: exactly aisio (and homid when built), and they run.
bins=$(cd "$top/bin" && find . -mindepth 1 | sort | tr '\n' ' ')
[ "$bins" = "./aisio " ] || fail "bin/ holds '$bins', want aisio"
"$top/bin/aisio" perf verify --size 4M --iosize 64k emu:8M >"$tmp/verify.out" 2>&1 ||
	fail "installed aisio perf verify emu:8M: $(cat "$tmp/verify.out")"
grep -q 'mismatch' "$tmp/verify.out" || fail "aisio perf verify printed no mismatch count: $(cat "$tmp/verify.out")"
echo "installed aisio perf verify emu:8M: $(grep -i 'mismatch' "$tmp/verify.out" | head -n1)"
mans=("$top/share/man/man1/aisio.1")
if [ "$homid" = true ]; then
	sbins=$(cd "$top/sbin" 2>/dev/null && find . -mindepth 1 | sort | tr '\n' ' ')
	[ "$sbins" = "./homid " ] || fail "sbin/ holds '$sbins', want homid"
	"$top/sbin/homid" --help | grep -q -- --check-config || fail "installed homid --help"
	unit=$(find "$root" -name homid.service)
	[ -n "$unit" ] || fail "homid.service not installed"
	grep -qx "ExecStart=$prefix/sbin/homid --foreground" "$unit" ||
		fail "homid.service does not start $prefix/sbin/homid: $(grep ^Exec "$unit")"
	[ -f "$top/share/aisio/homid.conf.example" ] || fail "homid.conf.example not installed"
	mans+=("$top/share/man/man8/homid.8" "$top/share/man/man5/homid.conf.5")
fi
man_check "${mans[@]}"
if grep -l '@[A-Z]*@' "${mans[@]}"; then fail "a man page keeps a @VARIABLE@"; fi
grep -q 'Permission is hereby granted' "$top/share/doc/aisio/LICENSE" || fail "LICENSE not installed"

consumer_check "$root" "$here/consumer.c" "$tmp/work" emu:16M
echo "PASS"
