#!/bin/bash
# Inside the testbed guest (bench/fio-engine/run-vm.sh boots it): one job,
# 4 KiB random reads, run by fio's io_uring engine on the kernel's block
# device (O_DIRECT), by fio's io_uring_cmd engine on the generic device, by
# fio through the aisio engine on pci: (vfio) and by 'aisio perf run' on the
# same pci: function. Each case RUNS times, interleaved; IOPS and CPU per I/O
# over the measured run, start-up left out: fio's usr_cpu + sys_cpu of the job
# times its runtime, and 'aisio perf run''s own getrusage() figure, each over
# the I/Os completed.
#   guest.sh BUILD_DIR OUT_TABLE
# Environment: RUN_SECONDS (5), RUNS (3), QDS ("1 128").
here=$(cd "$(dirname "$0")" && pwd)
build=$1
out=$2
seconds=${RUN_SECONDS:-5}
runs=${RUNS:-3}
qds=${QDS:-"1 128"}
engine=$build/fio/libaisio-fio.so
bdf=0000:01:00.0
. "$here/../../tests/vm/guest_lib.sh"
cd /tmp || exit 1
tmp=$(mktemp -d)

dev=$(blkdev_of $bdf) || { fail "no namespace on $bdf"; finish; }
ng=$(ngdev_of "$dev") || ng=""
# The namespace is read before it is written: fill it once so that reads
# move data on every path.
fio --name=fill --filename="$dev" --ioengine=io_uring --direct=1 --rw=write --bs=1M \
	--iodepth=8 --output=/dev/null || fail "filling $dev"

# fio_res JSON: "IOPS CPU_US_PER_IO" of the first job (usr_cpu and sys_cpu are
# percent of the job's runtime, job_runtime is in ms).
fio_res() {
	python3 -c '
import json, sys
t = open(sys.argv[1]).read()
j = json.loads(t[t.index("{"):])["jobs"][0]
r = j["read"]
cpu_s = (j["usr_cpu"] + j["sys_cpu"]) / 100 * j["job_runtime"] / 1000
print("%.0f %.1f" % (r["iops"], cpu_s * 1e6 / r["total_ios"] if r["total_ios"] else 0))' "$1"
}
# one CASE QD: runs one case once; prints "IOPS CPU_US_PER_IO".
one() {
	local c=$1 qd=$2
	local common=(--name=bench --rw=randread --bs=4k --iodepth="$qd" --time_based
		--runtime="$seconds" --norandommap --output-format=json --output="$tmp/r.json")
	case $c in
	io_uring) fio --ioengine=io_uring --direct=1 --filename="$dev" "${common[@]}" || return 1 ;;
	io_uring_cmd) fio --ioengine=io_uring_cmd --cmd_type=nvme --filename="$ng" "${common[@]}" || return 1 ;;
	engine) fio --ioengine="external:$engine" --thread --aisio_uri="pci:$bdf,drv=vfio" \
		"${common[@]}" || return 1 ;;
	perf)
		"$build/aisio" perf run --json --threads 1 --qdepth "$qd" --iosize 4k \
			--runtime "$seconds" --iopattern randread "pci:$bdf,drv=vfio" >"$tmp/p.json" || return 1
		python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f %.1f" % (j["total"]["iops"], j["cpu"]["ns_per_io"] / 1000))' \
			"$tmp/p.json"
		return
		;;
	esac
	fio_res "$tmp/r.json"
}
stats() { # values... -> "min / median / max"
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%s / %s / %s", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

cases="io_uring engine perf"
[ -n "$ng" ] && fio --enghelp=io_uring_cmd >/dev/null 2>&1 && cases="io_uring io_uring_cmd engine perf"
rows=""
for qd in $qds; do
	declare -A iops_v cpu_v
	for c in $cases; do iops_v[$c]="" cpu_v[$c]=""; done
	for r in $(seq "$runs"); do
		for c in $cases; do
			if res=$(one "$c" "$qd"); then
				read -r i u <<<"$res"
				iops_v[$c]+=" $i"
				cpu_v[$c]+=" $u"
				pass "QD$qd run $r $c: $i IOPS, $u us CPU per I/O"
			else
				fail "QD$qd run $r $c"
			fi
		done
	done
	for c in $cases; do
		[ -n "${iops_v[$c]}" ] || continue
		# shellcheck disable=SC2086
		rows+="| $qd | $c | $(stats ${iops_v[$c]}) | $(stats ${cpu_v[$c]}) |"$'\n'
	done
done
{
	echo "| QD | path | IOPS min / median / max | CPU us per I/O min / median / max |"
	echo "|---|---|---|---|"
	printf '%s' "$rows"
} >"$out"
rm -rf "$tmp"
finish
