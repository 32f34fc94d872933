#!/usr/bin/env bash
# Builds the dma-buf importer module out of the source tree against the
# Debian 6.12 headers of the kernel the testbed guest boots, and prints the
# path of the .ko.
#
# Headers: an installed /usr/src/linux-headers-KVER is used as is. Otherwise
# the three header packages (linux-headers-KVER, its -common and
# linux-kbuild) are fetched from bookworm-backports with `apt-get download`
# and unpacked under the output folder: no kernel image is installed on the
# build machine (the headers package would pull one in through apt-get install).
#
# Usage: kmod/build.sh [--kver KVER] [--out DIR] [--quiet]
#   KVER default: $AISIO_TESTBED_KERNEL, else the kernel in the testbed cache
#   ($AISIO_TESTBED_CACHE or build/testbed-cache), else the newest installed
#   6.12.*+deb12-amd64 headers, else the newest 6.12 headers in apt.
#   DIR default: build-kmod/kmod under the repository.
# Exit: 0 built, 1 compile error, 2 headers or tools could not be obtained.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
kver=${AISIO_TESTBED_KERNEL:-}
out=$repo/build-kmod/kmod
quiet=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "kmod/build.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
say() { [ "$quiet" = 1 ] || echo "kmod: $*" >&2; }
die() { echo "kmod: $*" >&2; exit 2; }

pattern='^6\.12\.[0-9]+\+deb12-amd64$'
if [ -z "$kver" ]; then
	cache=${AISIO_TESTBED_CACHE:-$repo/build/testbed-cache}
	link=$(readlink "$cache/vmlinuz" 2>/dev/null || true)   # kernel/KVER/vmlinuz
	kver=$(basename "$(dirname "$link")")
	echo "$kver" | grep -Eq "$pattern" || kver=""
fi
if [ -z "$kver" ]; then
	kver=$(ls -1 /usr/src 2>/dev/null | sed -n 's/^linux-headers-//p' | grep -E "$pattern" | sort -V | tail -n1 || true)
fi
backports() {
	if [ "$(id -u)" -ne 0 ]; then
		die "kernel headers for ${kver:-6.12} missing and bookworm-backports needs root to add: run sudo scripts/apt-backports.sh"
	fi
	"$repo/scripts/apt-backports.sh" >&2 || die "could not add bookworm-backports"
}
if [ -z "$kver" ]; then
	backports
	kver=$(apt-cache search --names-only '^linux-headers-6\.12\..*\+deb12-amd64$' |
		awk '{ print $1 }' | sed 's/^linux-headers-//' | sort -V | tail -n1)
	[ -n "$kver" ] || die "no linux-headers-6.12.*+deb12-amd64 in apt (bookworm-backports)"
fi
echo "$kver" | grep -Eq "$pattern" || die "kernel version '$kver' is not a Debian 6.12 amd64 kernel"

command -v make >/dev/null || die "make missing (scripts/install-deps.sh build)"
command -v gcc-12 >/dev/null || die "gcc-12 missing: the Debian 6.12 kernel is built with it (apt-get install gcc-12)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# One build per output folder at a time (ninja kmod and the vm test may race).
exec 9>"$out/.lock"
flock 9
kdir=/usr/src/linux-headers-$kver
if [ ! -f "$kdir/Makefile" ]; then
	base=${kver%-amd64}                 # 6.12.57+deb12
	hdr=$out/headers-$kver
	kdir=$hdr/usr/src/linux-headers-$kver
	if [ ! -f "$hdr/done" ]; then
		pkgs=("linux-headers-$kver" "linux-headers-$base-common" "linux-kbuild-$base")
		if ! apt-cache show "${pkgs[0]}" >/dev/null 2>&1; then
			backports
		fi
		# Module BTF needs pahole when the headers ship vmlinux.
		if ! command -v pahole >/dev/null; then
			[ "$(id -u)" -eq 0 ] || die "pahole missing: apt-get install pahole"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pahole >/dev/null ||
				die "could not install pahole"
		fi
		say "downloading ${pkgs[*]}"
		rm -rf "$hdr"
		mkdir -p "$hdr/debs"
		(cd "$hdr/debs" && apt-get download -qq "${pkgs[@]}" >/dev/null) ||
			die "could not download ${pkgs[*]} (is bookworm-backports in apt's sources? scripts/apt-backports.sh)"
		for d in "$hdr"/debs/*.deb; do dpkg-deb -x "$d" "$hdr"; done
		rm -rf "$hdr/debs"
		# The arch Makefile includes the common one by absolute path.
		sed -i "s#^include /usr/src/#include $hdr/usr/src/#" "$kdir/Makefile"
		touch "$hdr/done"
	fi
fi
[ -f "$kdir/Makefile" ] || die "no kernel build tree at $kdir"

# Kbuild of 6.12 writes next to the sources: build a copy in $out.
mod=$out/dmabuf_import
mkdir -p "$mod"
cp -p "$here"/dmabuf_import/*.c "$here"/dmabuf_import/*.h "$here"/dmabuf_import/Kbuild "$mod/"
say "building dmabuf_import.ko for $kver"
log=$out/build.log
if ! make -C "$kdir" M="$mod" AISIO_INCLUDE="$repo/include" KCFLAGS=-Werror W=1 modules >"$log" 2>&1; then
	cat "$log" >&2
	exit 1
fi
[ "$quiet" = 1 ] || grep -E 'warning|error' "$log" >&2 || true
echo "$mod/dmabuf_import.ko"
