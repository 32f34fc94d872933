#!/usr/bin/env bash
# The source of the fio this machine runs, configured, for building the aisio
# fio engine (fio/) against it. fio does not package its engine headers, so the
# engine is built against Debian's source package of exactly the installed
# version: its ioengine_ops layout then matches the fio that loads it.
#
#   scripts/fio-source.sh --apt     (root) add a deb-src entry that reuses the
#                                   machine's own Debian mirror URI and refresh
#                                   the lists; idempotent
#   scripts/fio-source.sh DIR       fetch, unpack and ./configure the source
#                                   under DIR (a cache; reused when complete);
#                                   prints the source tree's path on stdout
#
# Exit 0 on success. On failure the reason is printed on stderr, and with DIR
# also written to DIR/unavailable, exit 1: the build leaves the engine out and
# its tests skip saying why.
set -uo pipefail
src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/aisio-src.sources

die() {
	echo "fio-source: $*" >&2
	[ -n "${cache:-}" ] && mkdir -p "$cache" && echo "$*" >"$cache/unavailable"
	exit 1
}

# The installed fio's Debian version (3.33-3) and upstream version (3.33).
installed_version() {
	dpkg-query -W -f='${Version}' fio 2>/dev/null
}

# deb-src entry: the URIs and suites of the machine's main Debian stanza.
add_deb_src() {
	[ "$(id -u)" -eq 0 ] || die "adding a deb-src entry needs root (run: sudo $0 --apt)"
	local stanza uri suites
	uri="" suites=""
	if [ -r "$src" ]; then
		# The first stanza whose Suites carry the release itself (not -security).
		stanza=$(awk -v RS= '/(^|\n)Suites:[^\n]*[[:space:]][a-z]+([[:space:]]|$)/ && !/-security/ { print; exit }' "$src")
		uri=$(printf '%s\n' "$stanza" | awk '/^URIs:/ { print $2; exit }')
		suites=$(printf '%s\n' "$stanza" | sed -n 's/^Suites:[[:space:]]*//p' | head -n1)
	fi
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		# One-line format: the first 'deb URI SUITE' that is not -security.
		read -r uri suites < <(awk '$1 == "deb" && $2 !~ /^\[/ && $3 !~ /-security/ { print $2, $3; exit }' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] && [ -n "$suites" ] || die "no Debian mirror URI found in $src or /etc/apt/sources.list"
	local want="Types: deb-src
URIs: $uri
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	local changed=0
	if [ ! -f "$dst" ] || [ "$(cat "$dst")" != "$want" ]; then
		printf '%s\n' "$want" >"$dst"
		changed=1
	fi
	if [ "$changed" = 1 ] || ! ls /var/lib/apt/lists/*_main_source_Sources* >/dev/null 2>&1; then
		echo "fio-source: updating package lists (deb-src $suites from $uri)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
	fi
	# apt-get source unpacks with dpkg-source (dpkg-dev).
	if ! command -v dpkg-source >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null ||
			die "dpkg-dev (dpkg-source) could not be installed"
	fi
}

if [ "${1:-}" = "--apt" ]; then
	add_deb_src
	exit 0
fi

cache=${1:?usage: $0 --apt | $0 DIR}
mkdir -p "$cache" || die "cannot create $cache"
cache=$(cd "$cache" && pwd)
rm -f "$cache/unavailable"

command -v fio >/dev/null || die "fio is not installed (scripts/install-deps.sh test)"
debver=$(installed_version)
[ -n "$debver" ] || die "the installed fio ($(command -v fio)) is not Debian's package; the engine is built against Debian's source of the installed version"
upver=${debver#*:}
upver=${upver%-*}
runver=$(fio --version 2>/dev/null)
[ "$runver" = "fio-$upver" ] ||
	die "fio --version says '$runver' but the Debian package is $debver; the engine must be built against the fio that runs"

tree=$cache/fio-$upver
if [ -f "$tree/.aisio-configured" ] && [ "$(cat "$tree/.aisio-configured")" = "$debver" ]; then
	echo "$tree"
	exit 0
fi

# Without source lists, add them when we may (root), else say what to run.
if ! ls /var/lib/apt/lists/*_main_source_Sources* >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		add_deb_src
	else
		die "no deb-src entry in apt's sources (run: sudo scripts/fio-source.sh --apt)"
	fi
fi
command -v dpkg-source >/dev/null || die "dpkg-source is missing (apt-get install dpkg-dev)"

rm -rf "$tree" "$cache/dl"
mkdir -p "$cache/dl"
if ! (cd "$cache/dl" && apt-get source -qq "fio=$debver" >"$cache/apt-source.log" 2>&1); then
	die "apt-get source fio=$debver failed: $(tail -n 3 "$cache/apt-source.log" | tr '\n' ' ')"
fi
unpacked=$(find "$cache/dl" -maxdepth 1 -mindepth 1 -type d -name 'fio-*' | head -n1)
[ -n "$unpacked" ] || die "apt-get source fio=$debver unpacked no fio-* directory"
mv "$unpacked" "$tree" || die "cannot move the source to $tree"
rm -rf "$cache/dl"

# The source's own version must be the one that runs.
srcver=$(sed -n 's/^DEF_VER=//p' "$tree/FIO-VERSION-GEN" 2>/dev/null)
[ "$srcver" = "fio-$upver" ] || die "the source says '$srcver', the installed fio is fio-$upver"

# config-host.h: fio's headers need it. Default options are enough for the
# structures the engine uses; the build of fio itself is not needed.
if ! (cd "$tree" && ./configure --disable-native >"$cache/configure.log" 2>&1); then
	die "fio's ./configure failed (see $cache/configure.log)"
fi
[ -f "$tree/config-host.h" ] || die "fio's ./configure wrote no config-host.h"
echo "$debver" >"$tree/.aisio-configured"
echo "$tree"
