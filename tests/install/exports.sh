#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# exports.sh LIBAISIO_SO MAP INCLUDE_DIR CC [SYMBOLS]: the shared library
# exports exactly the functions its public headers declare, no private symbol:
#   - every dynamic symbol it defines is a function (T) of version AISIO_0
#     and is listed in the version script MAP;
#   - MAP lists exactly the functions that include/aisio/*.h declare (all
#     but their static inline ones), so the list cannot drift from the API;
#   - the Debian symbols file SYMBOLS (debian/libaisio0.symbols) lists the
#     same functions, of version AISIO_0.
# Exit 0 pass, 1 fail.
set -uo pipefail
so=$1 map=$2 inc=$3 cc=$4 symbols=${5:-}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aisio-exports.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# Dynamic symbols the library defines (the version node itself is type A).
nm -D --defined-only "$so" >"$tmp/nm" || fail "nm -D $so"
awk '$2 != "A"' "$tmp/nm" >"$tmp/defs"
[ -s "$tmp/defs" ] || fail "$so exports nothing"
bad=$(awk '$2 != "T" || $3 !~ /@@AISIO_0$/' "$tmp/defs")
[ -z "$bad" ] || fail "exported symbols that are not functions of version AISIO_0:
$bad"
awk '{ sub(/@.*/, "", $3); print $3 }' "$tmp/defs" | sort -u >"$tmp/exported"

# The version script's global list.
sed 's,/\*.*\*/,,' "$map" | tr -d ' \t' |
	awk '/^global:/ { on = 1; next } /^local:/ { on = 0 } on && /;$/ { sub(/;$/, ""); print }' |
	sort -u >"$tmp/mapped"
[ -s "$tmp/mapped" ] || fail "no global: list in $map"

# Functions the public headers declare: every aisio_NAME( in the
# preprocessed headers, less those defined static inline there.
for h in "$inc"/aisio/*.h; do
	# shellcheck disable=SC2086 # CC may be a command with arguments (ccache cc)
	$cc -E -P -I"$inc" -x c "$h" || fail "preprocessing $h"
done | tr '\n' ' ' >"$tmp/pp"
grep -oE '\baisio_[A-Za-z0-9_]+[[:space:]]*\(' "$tmp/pp" | tr -d ' (' | sort -u >"$tmp/named"
grep -oE 'static[[:space:]]+(inline|__inline__|__inline)[[:space:]][^;{}]*\baisio_[A-Za-z0-9_]+[[:space:]]*\(' "$tmp/pp" |
	grep -oE '\baisio_[A-Za-z0-9_]+[[:space:]]*\($' | tr -d ' (' | sort -u >"$tmp/inline"
comm -23 "$tmp/named" "$tmp/inline" >"$tmp/declared"
[ -s "$tmp/declared" ] || fail "found no function declarations in $inc/aisio"

rc=0
if ! d=$(diff "$tmp/mapped" "$tmp/exported"); then
	echo "FAIL: $so exports differ from $map (< map only, > library only):" >&2
	echo "$d" >&2
	rc=1
fi
if ! d=$(diff "$tmp/declared" "$tmp/mapped"); then
	echo "FAIL: $map differs from the functions include/aisio/*.h declare (< headers only, > map only):" >&2
	echo "$d" >&2
	rc=1
fi
if [ -n "$symbols" ]; then
	awk '/^ / { print $1 }' "$symbols" | grep -v '^AISIO_0@AISIO_0$' | sed 's/@AISIO_0$//' | sort -u >"$tmp/debsyms"
	if ! d=$(diff "$tmp/mapped" "$tmp/debsyms"); then
		echo "FAIL: $symbols differs from $map (< map only, > symbols file only; all of version AISIO_0):" >&2
		echo "$d" >&2
		rc=1
	fi
fi
[ $rc = 0 ] || exit 1
echo "PASS: $(wc -l <"$tmp/exported") functions exported, all of version AISIO_0, all declared in include/aisio; $(wc -l <"$tmp/inline") static inline functions not exported"
