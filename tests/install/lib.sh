# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shared by install.sh and deb.sh: checks on an install root (a meson
# --destdir, or Debian packages unpacked with dpkg-deb -x).

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# consumer_check ROOT CONSUMER_C WORKDIR URI: builds CONSUMER_C against the
# aisio.pc under ROOT with pkg-config (sysroot ROOT, no other .pc visible),
# checks that it links libaisio.so.0 from ROOT and runs it on URI.
consumer_check() {
	local root=$1 csrc=$2 work=$3 uri=$4
	local pcs pcdir cflags libs libdir cc=${CC:-cc}

	pcs=$(find "$root" -name aisio.pc -path '*/pkgconfig/*')
	[ "$(printf '%s\n' "$pcs" | grep -c .)" = 1 ] || fail "want one aisio.pc under $root, found: ${pcs:-none}"
	pcdir=$(dirname "$pcs")
	cflags=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=$root pkg-config --cflags aisio) ||
		fail "pkg-config --cflags aisio"
	libs=$(PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=$root pkg-config --libs aisio) ||
		fail "pkg-config --libs aisio"
	echo "pkg-config: cflags '$cflags' libs '$libs'"
	# Headers and library must come from the root: -L must name it; -I may be
	# left out only when the headers are in the compiler's default place,
	# which a root never is for /usr/include, so require it there too.
	case " $libs " in *" -L$root/"*) ;; *) fail "pkg-config --libs does not point into $root: $libs" ;; esac
	case " $cflags " in *" -I$root/"*) ;; *) fail "pkg-config --cflags does not point into $root: $cflags" ;; esac
	libdir=${libs#*-L}
	libdir=${libdir%% *}

	# A copy of the source, so that nothing next to it can be included.
	cp "$csrc" "$work/consumer.c" || fail "copy $csrc"
	# shellcheck disable=SC2086 # word splitting of CC (ccache cc) and pkg-config output is intended
	$cc -std=gnu11 -Wall -Wextra -Werror $cflags "$work/consumer.c" -o "$work/consumer" $libs ||
		fail "building a program with pkg-config --cflags --libs aisio"
	readelf -d "$work/consumer" | grep -q 'NEEDED.*\[libaisio\.so\.0\]' ||
		fail "consumer does not link libaisio.so.0: $(readelf -d "$work/consumer" | grep NEEDED)"
	local resolved
	resolved=$(LD_LIBRARY_PATH=$libdir ldd "$work/consumer" | awk '$1 == "libaisio.so.0" { print $3 }')
	[ "$(realpath "$resolved")" = "$(realpath "$libdir/libaisio.so.0")" ] ||
		fail "libaisio.so.0 resolves to '$resolved', not the one in $libdir"
	LD_LIBRARY_PATH=$libdir "$work/consumer" "$uri" || fail "consumer $uri against $libdir"
}

# soname_check LIBDIR: libaisio.so -> libaisio.so.0 -> libaisio.so.0.*, SONAME libaisio.so.0.
soname_check() {
	local libdir=$1 real
	[ -L "$libdir/libaisio.so.0" ] || fail "$libdir/libaisio.so.0 is not a symbolic link"
	real=$(readlink "$libdir/libaisio.so.0")
	case "$real" in libaisio.so.0.*) ;; *) fail "libaisio.so.0 -> $real" ;; esac
	[ -f "$libdir/$real" ] || fail "$libdir/$real missing"
	readelf -d "$libdir/$real" | grep -q 'SONAME.*\[libaisio\.so\.0\]' ||
		fail "$real: SONAME is not libaisio.so.0: $(readelf -d "$libdir/$real" | grep SONAME)"
	echo "library: $real, SONAME libaisio.so.0"
}

# man_check FILE...: each page formats without a warning (when man is installed).
man_check() {
	command -v man >/dev/null || { echo "man not installed: formatting not checked"; return 0; }
	local m out
	for m in "$@"; do
		[ -s "$m" ] || fail "man page $m missing or empty"
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null) ||
			fail "man $m: $out"
		[ -z "$out" ] || fail "man $m warns: $out"
	done
	echo "man pages format without warnings: $*"
}
