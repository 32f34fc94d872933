#!/usr/bin/env bash
# Copy this machine's mkfs.xfs and the libraries it needs (not glibc) into
# .ab/xfsprogs, for a GPU host without xfsprogs: bench/fil/run-gpuhost.sh
# uses .ab/xfsprogs/mkfs.xfs (with .ab/xfsprogs/lib) when mkfs.xfs is not in
# PATH. Carry .ab/xfsprogs with the tree. The GPU host's glibc must be at
# least this one's (ldd --version). usage: bench/fil/pack-xfsprogs.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
M=$(command -v mkfs.xfs || true)
[ -n "$M" ] || { echo "mkfs.xfs not installed here (xfsprogs)" >&2; exit 1; }
rm -rf .ab/xfsprogs
mkdir -p .ab/xfsprogs/lib
cp "$M" .ab/xfsprogs/mkfs.xfs
ldd "$M" | awk '/=> \// { print $3 }' | grep -v -e '/libc\.so' -e '/ld-linux' | while read -r l; do
	cp -L "$l" .ab/xfsprogs/lib/
done
echo "packed $("$M" -V) with $(ls .ab/xfsprogs/lib | tr '\n' ' ')(glibc here: $(ldd --version | head -1))"
LD_LIBRARY_PATH=$PWD/.ab/xfsprogs/lib .ab/xfsprogs/mkfs.xfs -V >/dev/null
