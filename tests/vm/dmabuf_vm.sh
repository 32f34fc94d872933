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

# The Debian kernel has no KASAN or kmemleak. What it has, switched on at
# boot: SLUB debugging of the kmalloc caches the module and dma-buf core
# allocate from (red zones, poisoning, free-pointer and double-free
# checks; dmabuf_guest.sh validates the kmalloc caches at the end), KFENCE
# sampling every millisecond (use-after-free and out-of-bounds reports on
# sampled objects) and page poisoning.
exec "$repo/testbed/run.sh" --timeout 480 \
	--append "slub_debug=FZPU,kmalloc-* kfence.sample_interval=1 page_poison=1" \
	--qemu-arg -device --qemu-arg pci-testdev \
	-- "$here/dmabuf_guest.sh" "$build" "$ko"
