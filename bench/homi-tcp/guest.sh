#!/bin/bash
# Inside the testbed guest (bench/homi-tcp/run.sh): aisio perf run on the
# kernel's nvmet-tcp (null_blk) directly through nvme+tcp:// and through
# homid (homi:, direct and mediated) owning the same subsystem; 4 KiB randread and
# randwrite at QD32, three runs each, alternating. Writes a markdown table to $2.
# Usage: guest.sh BUILD_DIR TABLE [RUNTIME_S]
build=$1 table=$2 rt=${3:-5}
. "$(dirname "$0")/../../tests/vm/guest_lib.sh"
. "$(dirname "$0")/../../tests/vm/nvmet_lib.sh"
cd /tmp || exit 1
nvme0=$(blkdev_of 0000:01:00.0) || exit 1
nvmet_up "$nvme0" || { echo "nvmet setup failed"; exit 1; }
uri=nvme+tcp://127.0.0.1/$nqn_n sock=/tmp/homid.sock
"$build/homid" --foreground --socket $sock --ctrl "$uri" --log-level warning 2>/tmp/homid.log &
hpid=$!
up() { kill -0 $hpid 2>/dev/null || return 2; "$build/aisio" homi status --socket $sock >/dev/null 2>&1; }
wait_until "homid serving" up || { cat /tmp/homid.log; exit 1; }
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # jiffies
hz=$(getconf CLK_TCK)
: >/tmp/rows
for n in 1 2 3; do
	for pat in randread randwrite; do
		for path in tcp direct mediated; do
			u=$uri
			[ $path != tcp ] && u="homi:$sock,mode=$path"
			b0=$(busy)
			"$build/aisio" perf run --json --iopattern $pat --qdepth 32 --runtime $rt \
				--size 128M "$u" >/tmp/a.json || exit 1
			b1=$(busy)
			python3 - "$pat" "$path" "$n" $((b1 - b0)) "$hz" >>/tmp/rows <<'PY'
import json, sys
pat, path, n, j, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
a = json.load(open("/tmp/a.json"))
print(pat, path, n, a["total"]["iops"], j / hz / a["total"]["ios"] * 1e6, a["total"]["failed"])
PY
		done
	done
done
kill -TERM $hpid
wait $hpid
python3 - /tmp/rows >"$table" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def s3(v, f="{:.0f}"):
    v = sorted(v)
    return " / ".join(f.format(x) for x in (v[0], statistics.median(v), v[-1]))
print("| workload | QD | path | IOPS min / median / max | whole-guest CPU us/IO | failed |")
print("|---|---|---|---|---|---|")
summ = []
for pat in ("randread", "randwrite"):
    med = {}
    for path, name in (("tcp", "nvme+tcp:// (the client's own association)"),
                       ("direct", "homi: direct (a connection homid handed over)"),
                       ("mediated", "homi: mediated (homid's connection)")):
        r = [x for x in rows if x[0] == pat and x[1] == path]
        io = [float(x[3]) for x in r]; cpu = [float(x[4]) for x in r]
        med[path] = statistics.median(io)
        print(f"| {pat} | 32 | {name} | {s3(io)} | {s3(cpu, '{:.1f}')} | {sum(int(x[5]) for x in r)} |")
    summ.append(f"- {pat} QD32: IOPS relative to nvme+tcp://: homi direct {med['direct'] / med['tcp']:.2f}, "
                f"homi mediated {med['mediated'] / med['tcp']:.2f}")
print()
print("\n".join(summ))
PY
cat "$table"
