#!/usr/bin/env bash
# Host side of the dma-buf importer's guest suite: builds the module for the
# kernel the testbed boots (kmod/build.sh), then runs every check in one
# guest boot (dmabuf_guest.sh).
# Usage: dmabuf_vm.sh BUILD_DIR
# Exit: 0 pass, 1 fail, 77 testbed or headers unavailable (1 when CI=true).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: dmabuf_vm.sh BUILD_DIR}" && pwd)
skip() {
	echo "dmabuf_vm: $*" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
}

# The testbed chooses the guest kernel; the module must match it exactly.
cache=$("$repo/testbed/setup.sh" --quiet) || skip "testbed prerequisites unavailable; skipping"
link=$(readlink "$cache/vmlinuz") || skip "no kernel in the testbed cache $cache"
kver=$(basename "$(dirname "$link")")

ko=$("$repo/kmod/build.sh" --kver "$kver" --out "$build/kmod" --quiet)
case $? in
0) ;;
2) skip "kernel headers for $kver unavailable; skipping" ;;
*) echo "dmabuf_vm: module build failed" >&2; exit 1 ;;
esac
echo "module: $ko ($kver)"

exec "$repo/testbed/run.sh" --timeout 240 -- "$here/dmabuf_guest.sh" "$build" "$ko"
