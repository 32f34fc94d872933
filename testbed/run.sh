#!/usr/bin/env bash
# Boots a QEMU guest (q35, intel-iommu, Linux 6.12) with the NVMe hardware the
# options ask for, runs CMD inside it chrooted into the host root (read-only
# over 9p), prints the guest console and exits with CMD's status.
# See testbed/README.md for the options.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

usage() {
	cat <<'U'
usage: testbed/run.sh [options] -- CMD [ARG...]
       testbed/run.sh [options] --shell
  --nvme SPEC        add an NVMe controller (repeatable; default: one with
                     defaults). SPEC: comma-separated key=value:
                     size=64M  lbads=512|4096  ns=N  mdts=N  sriov=VFS  qpairs=N
                     (mdts=0: no transfer limit); with sriov, detached=NSID
                     (that namespace attached to no controller at start) and
                     private=NSID (that one not shared: the PF's alone)
  --timeout SEC      whole-run limit, boot included (default 300; 0 = none)
  --mem MIB          guest memory (default 2048)
  --smp N            guest CPUs (default 2)
  --hugepages N      2 MiB hugepages reserved in the guest (default 128)
  --modules LIST     extra guest modules to load at boot (comma-separated,
                     e.g. xfs,ublk_drv,nvmet-tcp)
  --append ARGS      extra kernel command line
  --env K=V          environment variable for CMD (repeatable)
  --results DIR      writable share, same path in the guest ($AISIO_RESULTS);
                     default: a fresh directory removed afterwards
  --cache DIR        download/initramfs cache (default $AISIO_TESTBED_CACHE
                     or <repo>/build/testbed-cache)
  --keep             keep the run directory (disk images, console.log)
  --quiet            print only the console of a failed run
  --qemu-arg ARG     extra QEMU argument (repeatable)
  --shell            interactive shell in the guest (Ctrl-A X quits QEMU)
exit: CMD's status; 1 testbed failure or guest crash; 124 timeout;
      77 prerequisites missing (1 instead when CI=true)
U
}

nvme=() envs=() qextra=()
modules="" timeout_s=300 mem=2048 smp=2 hugepages=128 append="" results="" keep=0 quiet=0 shell=0
cache=${AISIO_TESTBED_CACHE:-$repo/build/testbed-cache}
while [ $# -gt 0 ]; do
	case "$1" in
	--nvme) nvme+=("$2"); shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--hugepages) hugepages=$2; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--modules) modules=${modules:+$modules,}$2; shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	--results) results=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--quiet) quiet=1; shift ;;
	--qemu-arg) qextra+=("$2"); shift 2 ;;
	--shell) shell=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 1 ;;
	esac
done
if [ "$shell" = 0 ] && [ $# -eq 0 ]; then
	echo "run.sh: no command given (use -- CMD... or --shell)" >&2
	exit 1
fi
for n in "$timeout_s" "$mem" "$smp" "$hugepages"; do
	[[ "$n" =~ ^[0-9]+$ ]] || { echo "run.sh: '$n' is not a number" >&2; exit 1; }
done
[ ${#nvme[@]} -gt 0 ] || nvme=("")

# Prerequisites: a failure to install them skips locally but fails in CI.
if ! cache=$("$here/setup.sh" --cache "$cache" --quiet); then
	if [ "${CI:-}" = true ]; then
		echo "run.sh: testbed prerequisites could not be installed (CI=true: failing)" >&2
		exit 1
	fi
	echo "run.sh: testbed prerequisites could not be installed; skipping" >&2
	exit 77
fi

mkdir -p "$cache/runs"
run=$(mktemp -d "$cache/runs/run.XXXXXX")
if [ -z "$results" ]; then
	results=$run/results
fi
mkdir -p "$results/.testbed"
results=$(cd "$results" && pwd)
rm -f "$results/.testbed/rc"
cleanup() {
	rm -rf "$results/.testbed"
	if [ "$keep" = 1 ]; then
		echo "run.sh: run directory kept: $run" >&2
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT

size_bytes() {
	local s=$1 m=1
	case "$s" in
	*[kK]) m=1024; s=${s%?} ;;
	*[mM]) m=$((1024 * 1024)); s=${s%?} ;;
	*[gG]) m=$((1024 * 1024 * 1024)); s=${s%?} ;;
	esac
	[[ "$s" =~ ^[0-9]+$ ]] || return 1
	echo $((s * m))
}

# Controller i sits behind root port i at 0000:(i+1):00.0, in its own IOMMU group.
qdev=()
i=0
for spec in "${nvme[@]}"; do
	size=64M lbads=512 nns=1 mdts="" sriov=0 qpairs="" detached=0 private=0
	IFS=, read -r -a kvs <<<"$spec"
	for kv in "${kvs[@]}"; do
		[ -n "$kv" ] || continue
		k=${kv%%=*} v=${kv#*=}
		case "$k" in
		size) size=$v ;;
		lbads|lbs) lbads=$v ;;
		ns) nns=$v ;;
		mdts) mdts=$v ;;
		sriov) sriov=$v ;;
		qpairs) qpairs=$v ;;
		detached) detached=$v ;;
		private) private=$v ;;
		*) echo "run.sh: unknown --nvme key '$k' in '$spec'" >&2; exit 1 ;;
		esac
	done
	case "$lbads" in 512|4096) ;; *) echo "run.sh: lbads must be 512 or 4096, not '$lbads'" >&2; exit 1 ;; esac
	bytes=$(size_bytes "$size") || { echo "run.sh: bad size '$size'" >&2; exit 1; }
	for n in "$nns" "$sriov" "$detached" "$private" ${mdts:+"$mdts"} ${qpairs:+"$qpairs"}; do
		[[ "$n" =~ ^[0-9]+$ ]] || { echo "run.sh: '$n' in --nvme '$spec' is not a number" >&2; exit 1; }
	done
	qdev+=(-device "pcie-root-port,id=rp$i,chassis=$((i + 1)),bus=pcie.0,addr=$(printf 0x%x $((0x10 + i)))")
	ctrl="nvme,id=nvme$i,serial=aisio$i,bus=rp$i"
	[ -n "$mdts" ] && ctrl+=",mdts=$mdts"
	if [ "$sriov" -gt 0 ]; then
		# A VF needs an admin and an I/O queue and one interrupt; the
		# primary keeps some of each for itself.
		vq=$((sriov * 3)) vi=$sriov
		qdev+=(-device "nvme-subsys,id=subsys$i")
		ctrl+=",subsys=subsys$i,sriov_max_vfs=$sriov,sriov_vq_flexible=$vq,sriov_vi_flexible=$vi"
		ctrl+=",max_ioqpairs=${qpairs:-$((vq + 4))},msix_qsize=$((vi + 28))"
	elif [ -n "$qpairs" ]; then
		ctrl+=",max_ioqpairs=$qpairs"
	fi
	qdev+=(-device "$ctrl")
	for ((j = 1; j <= nns; j++)); do
		img=$run/nvme${i}n$j.img
		truncate -s "$bytes" "$img"
		qdev+=(-drive "file=$img,if=none,id=nv${i}n$j,format=raw,cache=unsafe,discard=unmap")
		ns="nvme-ns,drive=nv${i}n$j,bus=nvme$i,nsid=$j,logical_block_size=$lbads,physical_block_size=$lbads"
		if [ "$sriov" -gt 0 ]; then
			if [ "$j" = "$private" ]; then ns+=",shared=off"; else ns+=",shared=on"; fi
			[ "$j" = "$detached" ] && ns+=",detached=on"
		fi
		qdev+=(-device "$ns")
	done
	i=$((i + 1))
done

# The command, quoted for bash, with the caller's directory and environment.
{
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	echo "export HOME=/root TERM=${TERM:-dumb} AISIO_GUEST=1 AISIO_RESULTS=$(printf %q "$results")"
	[ -n "${CI:-}" ] && echo "export CI=$(printf %q "$CI")"
	for e in "${envs[@]+"${envs[@]}"}"; do echo "export $(printf %q "$e")"; done
	echo "cd $(printf %q "$PWD") 2>/dev/null || cd /"
	if [ $# -gt 0 ]; then printf 'exec'; printf ' %q' "$@"; echo; else echo "exec /bin/bash -i"; fi
} >"$results/.testbed/cmd.sh"

cmdline="console=ttyS0 quiet loglevel=4 panic=-1 oops=panic mitigations=off no_timer_check nowatchdog"
# no_timer_check: a loaded host can stall the emulated CPU long enough that the
# boot-time timer check fails and panics.
cmdline+=" intel_iommu=on iommu=pt"
cmdline+=" aisio.results=$results aisio.hugepages=$hugepages"
# The checkout may lie under a directory the guest covers with a tmpfs
# (/tmp, /root, /run, /var/tmp): the guest binds it back from the host view.
# The working directory is kept too (meson runs tests from the build dir).
cmdline+=" aisio.keep=$(cd "$(dirname "$0")/.." && pwd),$PWD"
[ "$shell" = 1 ] && cmdline+=" aisio.shell=1"
[ -n "$modules" ] && cmdline+=" aisio.modules=$modules"
cmdline+="$append"

# Single-threaded TCG: with thread=multi, QEMU 10.0 aborted once in
# iotlb_to_section() ("section_index < d->map.sections_nb") while the guest
# reconfigured devices; round-robin vCPUs have not shown it.
qemu=(qemu-system-x86_64 -M q35,kernel-irqchip=split -accel tcg,thread=single -cpu qemu64
	-device intel-iommu,intremap=on,caching-mode=on
	-m "$mem" -smp "$smp" -no-reboot -nic none
	-kernel "$cache/vmlinuz" -initrd "$cache/initrd.cpio.gz" -append "$cmdline"
	-fsdev "local,id=fs0,path=/,security_model=none,readonly=on,multidevs=remap"
	-device "virtio-9p-pci,fsdev=fs0,mount_tag=hostfs"
	-fsdev "local,id=fs1,path=$results,security_model=none,multidevs=remap"
	-device "virtio-9p-pci,fsdev=fs1,mount_tag=results"
	"${qdev[@]}" "${qextra[@]+"${qextra[@]}"}")

if [ "$shell" = 1 ]; then
	"${qemu[@]}" -nographic
	exit 0
fi

start=$(date +%s%N)
log=$run/console.log
: >"$log"
# QEMU runs in the background so that a signal to this script (a test
# harness giving up) stops the guest at once instead of after the timeout.
set +e
qpid="" tpid=""
stop_guest() {
	[ -n "$qpid" ] && kill -TERM "$qpid" 2>/dev/null
	[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null
	echo "run.sh: interrupted; guest stopped" >&2
	exit 130
}
trap stop_guest INT TERM HUP
[ "$timeout_s" = 0 ] && timeout_s=infinity
timeout -k 5 "$timeout_s" "${qemu[@]}" -display none -monitor none -serial stdio </dev/null >"$log" 2>&1 &
qpid=$!
if [ "$quiet" = 0 ]; then
	tail -n +1 -f --pid="$qpid" "$log" &
	tpid=$!
fi
wait "$qpid"
qrc=$?
[ -n "$tpid" ] && wait "$tpid"
qpid="" tpid=""
trap - INT TERM HUP
set -e
ms=$((($(date +%s%N) - start) / 1000000))
secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))

rc=1
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "run.sh: FAIL: guest did not finish within ${timeout_s}s (killed)" >&2
	rc=124
elif [ -f "$results/.testbed/rc" ]; then
	rc=$(cat "$results/.testbed/rc")
	[[ "$rc" =~ ^[0-9]+$ ]] || rc=1
elif [ "$qrc" != 0 ]; then
	echo "run.sh: FAIL: qemu exited with status $qrc" >&2
else
	echo "run.sh: FAIL: guest stopped without reporting an exit status (panic, crash or bad init)" >&2
fi
if [ "$quiet" = 1 ] && [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
	cat "$log"
fi
echo "run.sh: guest exit status $rc after ${secs}s" >&2
exit "$rc"
