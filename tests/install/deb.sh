#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deb.sh SRCROOT VERSION: builds the Debian packages from a copy of the tree
# (dpkg-buildpackage -us -uc -b, DEB_BUILD_OPTIONS=nocheck: the unit suite
# runs in CI anyway), then checks them: lintian shows no error; each package
# holds what it should; dpkg would install them on this machine
# (--dry-run); and, unpacked into a temporary root, a program built with
# pkg-config against libaisio-dev does verified I/O through libaisio0 and
# aisio-tools' aisio verifies a device model. Exit 0 pass, 1 fail, 77 skip
# (tools missing: scripts/install-deps.sh pkg installs them).
set -uo pipefail
srcroot=$1 version=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/install/lib.sh
. "$here/lib.sh"

missing=()
for t in dpkg-buildpackage dh lintian dpkg-deb fakeroot pkg-config; do
	command -v "$t" >/dev/null || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "SKIP: missing ${missing[*]} (run scripts/install-deps.sh pkg)"
	exit 77
fi
if ! bd=$(cd "$srcroot" && dpkg-checkbuilddeps 2>&1); then
	echo "SKIP: $bd (run scripts/install-deps.sh pkg)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aisio-deb.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
t0=$(date +%s)

# The tree as committed plus what git would add, without build folders.
src=$tmp/src/aisio-$version
mkdir -p "$src"
if git -C "$srcroot" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$srcroot" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$src" || fail "copying the tree (git ls-files)"
else
	(cd "$srcroot" && tar --exclude=./.git --exclude='./build*' -cf - .) | tar -xf - -C "$src" ||
		fail "copying the tree"
fi

# CI=true is for the test suites; the package build runs none.
if ! (cd "$src" && env -u CI DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1); then
	tail -n 60 "$tmp/build.log" >&2
	fail "dpkg-buildpackage -us -uc -b"
fi
t1=$(date +%s)
echo "dpkg-buildpackage: $((t1 - t0)) s"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
changes=$tmp/src/aisio_${version}_$arch.changes
[ -f "$changes" ] || fail "no $changes: $(ls "$tmp/src")"
debs=()
for p in libaisio0 libaisio-dev aisio-tools; do
	d=$tmp/src/${p}_${version}_$arch.deb
	[ -f "$d" ] || fail "package $p not built: $(ls "$tmp/src")"
	debs+=("$d")
done

# lintian: errors fail; the rest is shown.
lintian --fail-on error --display-info "$changes" >"$tmp/lintian.log" 2>&1
lrc=$?
cat "$tmp/lintian.log"
[ $lrc = 0 ] || fail "lintian reports errors (exit $lrc)"
echo "lintian: $(grep -c '^E:' "$tmp/lintian.log") errors, $(grep -c '^W:' "$tmp/lintian.log") warnings, $(grep -c '^I:' "$tmp/lintian.log") info"

# Contents.
has() { # deb path...
	local deb=$1 list
	shift
	list=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's,^\./,/,')
	for p in "$@"; do
		printf '%s\n' "$list" | grep -qx "$p" || fail "$(basename "$deb") lacks $p"
	done
}
has "${debs[0]}" "/usr/lib/$multiarch/libaisio.so.0" "/usr/lib/$multiarch/libaisio.so.$version"
has "${debs[1]}" /usr/include/aisio/aisio.h /usr/include/aisio/nvme_spec.h /usr/include/aisio/pattern.h \
	"/usr/lib/$multiarch/libaisio.so" "/usr/lib/$multiarch/pkgconfig/aisio.pc"
has "${debs[2]}" /usr/bin/aisio /usr/sbin/homid /lib/systemd/system/homid.service \
	/usr/share/man/man1/aisio.1.gz /usr/share/man/man8/homid.8.gz /usr/share/man/man5/homid.conf.5.gz \
	/usr/share/doc/aisio-tools/copyright
if dpkg-deb -c "${debs[0]}" | grep -q 'libaisio\.so$'; then fail "libaisio0 holds the development link"; fi
dpkg-deb -f "${debs[1]}" Depends | grep -q "libaisio0 (= $version)" ||
	fail "libaisio-dev does not depend on libaisio0 (= $version): $(dpkg-deb -f "${debs[1]}" Depends)"
for d in "${debs[@]}"; do
	echo "$(basename "$d"): Depends: $(dpkg-deb -f "$d" Depends)"
done
# The unit is installed but neither enabled nor started by the maintainer scripts.
dpkg-deb -e "${debs[2]}" "$tmp/ctrl" || fail "dpkg-deb -e aisio-tools"
# (dh_installsystemd --no-enable --no-start: the unit is enabled again on
# upgrade only where the admin had enabled it, and never started.)
if ! grep -q "deb-systemd-helper debian-installed 'homid.service'" "$tmp/ctrl/postinst" ||
	grep -q 'deb-systemd-invoke' "$tmp/ctrl/postinst"; then
	fail "aisio-tools' postinst may enable or start homid: $(cat "$tmp/ctrl/postinst")"
fi

# Would install here (dependencies met, no file conflicts); changes nothing.
if [ "$(id -u)" = 0 ]; then
	dpkg --dry-run -i "${debs[@]}" >"$tmp/dryrun.log" 2>&1 || {
		cat "$tmp/dryrun.log" >&2
		fail "dpkg --dry-run -i"
	}
	echo "dpkg --dry-run -i: ok"
else
	echo "not root: dpkg --dry-run -i not tried"
fi

# Unpacked into a root: the library and tools work from there.
root=$tmp/root
mkdir -p "$tmp/work"
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$root" || fail "dpkg-deb -x $d"; done
soname_check "$root/usr/lib/$multiarch"
man_check "$root/usr/share/man/man1/aisio.1.gz" "$root/usr/share/man/man8/homid.8.gz" \
	"$root/usr/share/man/man5/homid.conf.5.gz"
"$root/usr/bin/aisio" perf verify --size 4M --iosize 64k emu:8M >"$tmp/verify.out" 2>&1 ||
	fail "packaged aisio perf verify emu:8M: $(cat "$tmp/verify.out")"
echo "packaged aisio perf verify emu:8M: $(grep -i 'mismatch' "$tmp/verify.out" | head -n1)"
"$root/usr/sbin/homid" --help | grep -q -- --check-config || fail "packaged homid --help"
consumer_check "$root" "$here/consumer.c" "$tmp/work" emu:16M
echo "PASS ($(($(date +%s) - t0)) s in all)"
