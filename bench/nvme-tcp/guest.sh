#!/bin/bash
# Inside the testbed guest (bench/nvme-tcp/run.sh): 4 KiB randread and
# randwrite at QD32 and QD128 against the kernel's nvmet-tcp on loopback
# (a memory-backed null_blk, so the initiators dominate), through
#   aisio:  aisio perf run nvme+tcp://127.0.0.1/NQN   (1 thread, 1 queue)
#   kernel: fio io_uring, direct, on the block device of `nvme connect`
# three runs each, alternating. Per run: IOPS; CPU per I/O of the initiator
# process (aisio perf's getrusage; fio's usr+sys) and of the whole guest
# (busy time from /proc/stat, which includes the target, the same for both,
# and the kernel initiator's io_work kworkers, which fio's own figure lacks).
# Writes a markdown table to $2.
# Usage: guest.sh BUILD_DIR TABLE [RUNTIME_S]
build=$1 table=$2 rt=${3:-5}
. "$(dirname "$0")/../../tests/vm/guest_lib.sh"
. "$(dirname "$0")/../../tests/vm/nvmet_lib.sh"
cd /tmp || exit 1
nvme0=$(blkdev_of 0000:01:00.0) || exit 1
nvmet_up "$nvme0" || { echo "nvmet setup failed"; exit 1; }
uri=nvme+tcp://127.0.0.1/$nqn_n
nvme connect -t tcp -a 127.0.0.1 -s 4420 -n $nqn_n -q $hostnqn || exit 1
wait_until "kernel block device" kdev_try $nqn_n || exit 1
k=$(kdev_of $nqn_n)
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # jiffies
hz=$(getconf CLK_TCK)
: >/tmp/rows
for n in 1 2 3; do
	for pat in randread randwrite; do
		for qd in 32 128; do
			b0=$(busy)
			"$build/aisio" perf run --json --iopattern $pat --qdepth $qd --runtime $rt \
				--size 128M "$uri" >/tmp/a.json || exit 1
			b1=$(busy)
			fio --name=b --filename=$k --rw=$pat --bs=4k --iodepth=$qd --ioengine=io_uring \
				--direct=1 --size=128M --time_based --runtime=$rt --randrepeat=0 \
				--output-format=json --output=/tmp/k.json || exit 1
			b2=$(busy)
			python3 - "$pat" "$qd" "$n" $((b1 - b0)) $((b2 - b1)) "$hz" >>/tmp/rows <<'PY'
import json, sys
pat, qd, n, ja, jk, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
a = json.load(open("/tmp/a.json"))
k = json.load(open("/tmp/k.json"))["jobs"][0]
d = "read" if pat == "randread" else "write"
a_ios, a_s = a["total"]["ios"], a["total"]["elapsed_s"]
k_ios, k_s = k[d]["total_ios"], k["job_runtime"] / 1000.0
k_proc = (k["usr_cpu"] + k["sys_cpu"]) / 100.0 * k_s
print(pat, qd, n, a["total"]["iops"], a["cpu"]["ns_per_io"] / 1000.0, ja / hz / a_ios * 1e6,
      k[d]["iops"], k_proc / k_ios * 1e6, jk / hz / k_ios * 1e6, a["total"]["failed"], k.get("error", 0))
PY
		done
	done
done
nvme disconnect -n $nqn_n
python3 - /tmp/rows >"$table" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def s3(v):
    v = sorted(v)
    return f"{v[0]:.0f} / {statistics.median(v):.0f} / {v[-1]:.0f}"
def s3f(v):
    v = sorted(v)
    return f"{v[0]:.1f} / {statistics.median(v):.1f} / {v[-1]:.1f}"
print("| workload | QD | initiator | IOPS min / median / max | process CPU us/IO | whole-guest CPU us/IO |")
print("|---|---|---|---|---|---|")
summ = []
for pat in ("randread", "randwrite"):
    for qd in ("32", "128"):
        r = [x for x in rows if x[0] == pat and x[1] == qd]
        a = [float(x[3]) for x in r]; ap = [float(x[4]) for x in r]; ag = [float(x[5]) for x in r]
        k = [float(x[6]) for x in r]; kp = [float(x[7]) for x in r]; kg = [float(x[8]) for x in r]
        fails = sum(int(x[9]) for x in r)
        print(f"| {pat} | {qd} | aisio nvme+tcp:// | {s3(a)} | {s3f(ap)} | {s3f(ag)} |")
        print(f"| {pat} | {qd} | kernel nvme-tcp + fio | {s3(k)} | {s3f(kp)} | {s3f(kg)} |")
        ma, mk = statistics.median(a), statistics.median(k)
        ia = 1e6 / statistics.median(ag); ik = 1e6 / statistics.median(kg)
        summ.append(f"- {pat} QD{qd}: IOPS ratio aisio / kernel {ma / mk:.2f}; IOPS per busy guest CPU "
                    f"ratio {ia / ik:.2f}; aisio failed commands: {fails}")
print()
print("\n".join(summ))
PY
cat "$table"
