#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, when missing.
# Usage: scripts/install-deps.sh [build|test|bench|pkg]
set -euo pipefail
what=${1:-build}
pkgs=(gcc make meson ninja-build pkg-config liburing-dev libinih-dev python3)
# The Python binding (python/): pip install --no-build-isolation . builds with these.
pkgs+=(python3-dev python3-mesonpy python3-pip python3-venv python3-numpy)
case "$what" in
test) pkgs+=(fio xfsprogs valgrind util-linux clang libclang-rt-14-dev nvme-cli e2fsprogs) ;;
bench) pkgs+=(fio valgrind xfsprogs time bc) ;;
esac
# Installing and packaging (suites install and pkg, part of `make test`):
# pkg-config checks a program built against the installed library, man
# checks the manual pages, and dpkg-buildpackage, debhelper and lintian
# build and check the Debian packages (debian/).
case "$what" in
test | pkg) pkgs+=(man-db binutils dpkg-dev debhelper fakeroot lintian) ;;
esac
# kmod/build.sh fetches the 6.12 kernel headers itself; module BTF needs pahole.
if [ "$what" = test ]; then pkgs+=(pahole); fi
# The QEMU testbed (suite vm) installs its own packages, qemu >= 10 from
# bookworm-backports among them; a failure here leaves those tests to report it.
if [ "$what" = test ]; then
	"$(dirname "$0")/../testbed/setup.sh" --packages-only || echo "install-deps: testbed packages not installed" >&2
fi
# The fio engine builds against the installed fio's Debian source (scripts/fio-source.sh).
[ "$what" = test ] && { "$(dirname "$0")/fio-source.sh" --apt || echo "install-deps: no deb-src entry; the fio engine is left out and tests/fio skips" >&2; }
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
