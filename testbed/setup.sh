#!/usr/bin/env bash
# Prepares everything a testbed guest needs and prints the cache directory:
#   - host packages: qemu-system-x86 >= 10 (bookworm-backports), busybox-static,
#     kmod, cpio;
#   - a Debian 6.12 kernel (linux-image-6.12.*+deb12-amd64-unsigned), downloaded
#     with apt-get download and unpacked under the cache, never into /boot;
#   - an initramfs with busybox, the guest init and decompressed modules.
# A second run with a filled cache downloads nothing and rebuilds nothing.
#
# Usage: testbed/setup.sh [--cache DIR] [--quiet] [--packages-only]
# Env:   AISIO_TESTBED_CACHE (cache dir), AISIO_TESTBED_KERNEL (kernel version,
#        e.g. 6.12.57+deb12-amd64; default: newest cached, else newest in apt)
# Exit:  0 ready, 2 prerequisites could not be installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${AISIO_TESTBED_CACHE:-$repo/build/testbed-cache}
quiet=0
packages_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) cache=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--packages-only) packages_only=1; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
say() { [ "$quiet" = 1 ] || echo "testbed: $*" >&2; }
die() { echo "testbed: $*" >&2; exit 2; }
if [ "$packages_only" = 0 ]; then
	mkdir -p "$cache"
	cache=$(cd "$cache" && pwd)
	# One setup at a time per cache (meson runs vm tests in parallel).
	exec 9>"$cache/.lock"
	flock 9
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
qemu_ok() {
	command -v qemu-system-x86_64 >/dev/null || return 1
	local v
	v=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p')
	[ -n "$v" ] && [ "$v" -ge 10 ]
}

as_root() {
	[ "$(id -u)" -eq 0 ] || die "need root to install $*; run: sudo testbed/setup.sh"
}

# ---- host packages ----
need=()
for p in busybox-static kmod cpio; do installed "$p" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
	as_root "${need[*]}"
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
		die "could not install ${need[*]}"
fi
backports_ready=0
backports() {
	[ "$backports_ready" = 1 ] && return 0
	as_root "bookworm-backports sources"
	"$repo/scripts/apt-backports.sh" >&2 || die "could not add bookworm-backports"
	backports_ready=1
}
if ! qemu_ok; then
	backports
	say "installing qemu-system-x86 from bookworm-backports"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-t bookworm-backports qemu-system-x86 >/dev/null || die "could not install qemu-system-x86"
	qemu_ok || die "qemu-system-x86_64 >= 10 not available after install"
fi

[ "$packages_only" = 1 ] && exit 0

# ---- kernel ----
kver=${AISIO_TESTBED_KERNEL:-}
if [ -z "$kver" ]; then
	# Newest cached kernel first: a filled cache needs no apt at all.
	kver=$(ls -1 "$cache/kernel" 2>/dev/null | grep -E '^6\.12\..*\+deb12-amd64$' | sort -V | tail -n1 || true)
fi
if [ -z "$kver" ] || [ ! -f "$cache/kernel/$kver/done" ]; then
	if [ -z "$kver" ]; then
		backports
		kver=$(apt-cache search --names-only '^linux-image-6\.12\..*\+deb12-amd64-unsigned$' |
			sed -n 's/^linux-image-\(6\.12\.[^ ]*+deb12-amd64\)-unsigned .*/\1/p' | sort -V | tail -n1)
		[ -n "$kver" ] || die "no linux-image-6.12.*+deb12-amd64-unsigned in apt (bookworm-backports)"
	fi
	kdir=$cache/kernel/$kver
	mkdir -p "$cache/debs"
	deb=$(ls -1 "$cache/debs"/linux-image-"$kver"-unsigned_*.deb 2>/dev/null | tail -n1 || true)
	if [ -z "$deb" ]; then
		backports
		say "downloading linux-image-$kver-unsigned"
		(cd "$cache/debs" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$kver-unsigned" >/dev/null) ||
			die "could not download linux-image-$kver-unsigned"
		deb=$(ls -1 "$cache/debs"/linux-image-"$kver"-unsigned_*.deb | tail -n1)
	fi
	say "unpacking $(basename "$deb")"
	rm -rf "$kdir"
	mkdir -p "$kdir/root"
	dpkg-deb -x "$deb" "$kdir/root"
	cp "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinuz"
	touch "$kdir/done"
fi
kdir=$cache/kernel/$kver
[ -f "$kdir/vmlinuz" ] || die "kernel $kver missing in $kdir"

# ---- initramfs ----
# Modules the guest loads at boot, dependencies resolved from modules.dep.
# Modules in the initramfs. Those in boot_mods load at boot; the rest load on
# request (run.sh --modules, or modprobe -d /run/testbed NAME in the guest).
# Order matters: busybox modprobe does not resolve crypto aliases, so the
# crc32c implementation comes before xfs.
boot_mods=(9p 9pnet_virtio nvme vfio-pci vfio_iommu_type1 uio_pci_generic)
mods=("${boot_mods[@]}" crc32c_generic crc32c-intel libcrc32c xfs ublk_drv nvme-tcp nvmet
	nvmet-tcp nvme-loop configfs loop null_blk)
busybox=/bin/busybox
[ -x "$busybox" ] || die "busybox (busybox-static) missing"
key=$( { echo "$kver"; cat "$here/setup.sh" "$here/init.sh"; sha256sum "$busybox"; } | sha256sum | cut -c1-16)
initrd=$cache/initrd-$key.cpio.gz
if [ ! -f "$initrd" ]; then
	say "building initramfs for $kver"
	moddir=$kdir/root/lib/modules/$kver
	[ -d "$moddir" ] || moddir=$kdir/root/usr/lib/modules/$kver
	[ -f "$moddir/modules.dep" ] || depmod -b "$kdir/root" "$kver"
	work=$(mktemp -d "$cache/initrd.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work"/{bin,sbin,dev,proc,sys,mnt/host,tmp,etc,lib/modules/"$kver"}
	cp "$busybox" "$work/bin/busybox"
	for a in sh mount umount mkdir insmod modprobe poweroff chroot sleep cat echo ls \
		mknod ln setsid cttyhack grep sed tr hostname; do
		ln -s busybox "$work/bin/$a"
	done
	# The kernel's request_module() runs /sbin/modprobe in this root.
	ln -s ../bin/busybox "$work/sbin/modprobe"
	cp "$here/init.sh" "$work/init"
	chmod +x "$work/init"
	# Resolve each module and its dependencies; built-in ones have no file.
	list=$work/modlist
	: >"$list"
	for m in "${mods[@]}"; do
		modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" 2>/dev/null |
			awk '$1 == "insmod" { print $2 }' >>"$list" || true
	done
	sort -u "$list" | while read -r f; do
		rel=${f#"$moddir"/}
		dst=$work/lib/modules/$kver/${rel%.xz}
		mkdir -p "$(dirname "$dst")"
		case "$f" in
		*.xz) xz -dc "$f" >"$dst" ;;
		*.zst) zstd -qdc "$f" >"$dst" ;;
		*) cp "$f" "$dst" ;;
		esac
	done
	cp "$moddir"/modules.order "$moddir"/modules.builtin* "$work/lib/modules/$kver/" 2>/dev/null || true
	depmod -b "$work" "$kver"
	printf '%s\n' "${boot_mods[@]}" >"$work/etc/modules"
	printf '%s\n' "${mods[@]}" >"$work/etc/modules.all"
	rm -f "$list"
	(cd "$work" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	# Older initramfs builds are dead weight; a running QEMU has its copy loaded.
	for old in "$cache"/initrd-*.cpio.gz; do
		[ "$old" = "$initrd" ] || rm -f "$old"
	done
	rm -rf "$work"
	trap - EXIT
fi
ln -sfn "kernel/$kver/vmlinuz" "$cache/vmlinuz"
ln -sfn "$(basename "$initrd")" "$cache/initrd.cpio.gz"
echo "$cache"
