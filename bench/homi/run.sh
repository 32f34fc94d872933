#!/usr/bin/env bash
# homid against the device model in-process: the cost of the control plane.
#
#   bench/homi/run.sh [BUILD_DIR]     (default: build)
#
# 1. Direct: `aisio perf run` through a direct homi: queue against the same
#    workload on emu: in-process (same model options), interleaved pairs in
#    one run; the figure is the ratio homi/in-process per pair.
# 2. Mediated (emu:1G,null, 512 B): latency added per I/O at qd 1 (mediated
#    minus direct, pairs), and commands per CPU-second of homid's mediator
#    thread (its utime + stime from /proc/PID/task/TID/stat).
# 3. Provisioning latency (aisio_dev_open of homi: to the first completion)
#    and reclaim latency (SIGKILL to the queue IDs back in homid's pool):
#    bench/homi/homilat, CYCLES cycles each, direct and mediated.
# 4. Instructions per mediated command (callgrind on homid's med_fetch and
#    med_reap); skipped with a note when valgrind is missing.
#
# Writes bench/homi/results-<host>.md. Environment: RUN_SECONDS (3),
# PAIRS (3), CYCLES (100), CALLGRIND (1; 0 skips it), SECTIONS ("1 2 3 4"),
# HOMID (the homid binary; default BUILD_DIR/homid), OUT (the results file).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
seconds=${RUN_SECONDS:-3}
pairs=${PAIRS:-3}
cycles=${CYCLES:-100}
do_cg=${CALLGRIND:-1}
host=$(hostname -s)
out=${OUT:-$root/bench/homi/results-$host.md}
sections=" ${SECTIONS:-1 2 3 4} "
want() { [[ $sections == *" $1 "* ]]; }
tmp=$(mktemp -d)
sock=$tmp/homid.sock
homid_pid=
aisio=$build/aisio
homid=${HOMID:-$build/homid}
homilat=$build/bench/homi/homilat

stop_homid() {
	if [ -n "$homid_pid" ]; then
		kill "$homid_pid" 2>/dev/null || true
		wait "$homid_pid" 2>/dev/null || true
		homid_pid=
	fi
}
trap 'stop_homid; rm -rf "$tmp"' EXIT

ninja -C "$build" aisio homid bench/homi/homilat >/dev/null
[ -x "$homid" ] || { echo "run.sh: $homid is not built (homid needs libinih-dev)" >&2; exit 1; }

# start_homid SPEC [WRAPPER...]: homid on one model controller, wait for its socket
start_homid() {
	local spec=$1
	shift
	rm -f "$sock"
	"$@" "$homid" --foreground --socket "$sock" --ctrl "$spec" 2>"$tmp/homid.log" &
	homid_pid=$!
	for _ in $(seq 600); do
		"$aisio" homi status --socket "$sock" >/dev/null 2>&1 && return 0
		kill -0 "$homid_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "run.sh: homid did not come up:" >&2
	cat "$tmp/homid.log" >&2
	exit 1
}

# perf URI QD SIZE OUTFILE: one `aisio perf run --json`; prints its command line
perf() {
	local cmd=("$aisio" perf run --json --runtime "$seconds" --qdepth "$2" --iosize "$3" --iopattern randread "$1")
	"${cmd[@]}" >"$4" 2>"$4.err" || { echo "run.sh: ${cmd[*]} failed:" >&2; cat "$4.err" >&2; exit 1; }
}

jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# spread: min / median / max of numbers on stdin, printed with FORMAT
spread() { python3 -c '
import sys, statistics
v = sorted(float(x) for x in sys.stdin.read().split())
f = sys.argv[1]
if not v:
    sys.exit(print("n/a"))
print(" / ".join(f % x for x in (v[0], statistics.median(v), v[-1])))' "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# CPU seconds (utime + stime) of thread TID of PID
tcpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/task/$2/stat"; }

# ---------------------------------------------------------------- 1. direct
direct_rows=""
want 1 && echo "== 1. direct homi: vs in-process emu: ($pairs pairs of ${seconds} s runs each)"
want 1 && for model in "1G,null" "256M"; do
	start_homid "emu:$model"
	for size in 512 4096; do
		for qd in 32 128; do
			ratios=""
			emu_iops=""
			homi_iops=""
			for p in $(seq "$pairs"); do
				# alternate which goes first, so drift in the machine's load hits both
				if [ $((p % 2)) = 1 ]; then order="emu homi"; else order="homi emu"; fi
				for w in $order; do
					if [ $w = emu ]; then
						perf "emu:$model" "$qd" "$size" "$tmp/emu.json"
					else
						perf "homi:$sock" "$qd" "$size" "$tmp/homi.json"
					fi
				done
				e=$(jget "$tmp/emu.json" 'd["total"]["iops"]')
				h=$(jget "$tmp/homi.json" 'd["total"]["iops"]')
				fe=$(jget "$tmp/emu.json" 'd["total"]["failed"]')
				fh=$(jget "$tmp/homi.json" 'd["total"]["failed"]')
				[ "$fe" = 0 ] && [ "$fh" = 0 ] || { echo "run.sh: failed commands ($fe in-process, $fh homi)" >&2; exit 1; }
				r=$(python3 -c "print('%.3f' % ($h / $e))")
				echo "emu:$model $size B qd $qd pair $p: in-process $e, homi $h IOPS, ratio $r (load $(load))"
				ratios+="$r "
				emu_iops+="$e "
				homi_iops+="$h "
			done
			direct_rows+="| emu:$model | $size | $qd | $(echo $emu_iops | spread '%.0f') | $(echo $homi_iops | spread '%.0f') | **$(echo $ratios | spread '%.3f')** | $ratios| $(load) |"$'\n'
		done
	done
	stop_homid
done

# ---------------------------------------------------------------- 2. mediated
lat_rows=""
added=""
med_rows=""
idle_cpu="(not run)"
if want 2; then
echo "== 2. mediated (emu:1G,null, 512 B)"
start_homid "emu:1G,null"
# the mediator is the thread homid starts last (after its controllers' threads)
med_tid=$(ls "/proc/$homid_pid/task" | sort -n | tail -1)
lat_rows=""
added=""
for p in $(seq "$pairs"); do
	perf "homi:$sock" 1 512 "$tmp/d1.json"
	perf "homi:$sock,mode=mediated" 1 512 "$tmp/m1.json"
	d=$(jget "$tmp/d1.json" 'd["total"]["lat_us"]["mean"]')
	m=$(jget "$tmp/m1.json" 'd["total"]["lat_us"]["mean"]')
	dp=$(jget "$tmp/d1.json" 'd["total"]["lat_us"]["p50"]')
	mp=$(jget "$tmp/m1.json" 'd["total"]["lat_us"]["p50"]')
	a=$(python3 -c "print('%.0f' % (($m - $d) * 1000))")
	echo "qd 1 pair $p: direct mean $d us (p50 $dp), mediated mean $m us (p50 $mp): +$a ns (load $(load))"
	lat_rows+="| $p | $d | $dp | $m | $mp | $a | $(load) |"$'\n'
	added+="$a "
done
med_rows=""
for qd in 1 32 128; do
	percore=""
	for p in $(seq "$pairs"); do
		c0=$(tcpu "$homid_pid" "$med_tid")
		perf "homi:$sock,mode=mediated" "$qd" 512 "$tmp/m.json"
		c1=$(tcpu "$homid_pid" "$med_tid")
		ios=$(jget "$tmp/m.json" 'd["total"]["ios"]')
		iops=$(jget "$tmp/m.json" 'd["total"]["iops"]')
		el=$(jget "$tmp/m.json" 'd["total"]["elapsed_s"]')
		fl=$(jget "$tmp/m.json" 'd["total"]["failed"]')
		[ "$fl" = 0 ] || { echo "run.sh: $fl mediated commands failed" >&2; exit 1; }
		pc=$(python3 -c "c = $c1 - $c0; print('%.0f %.2f' % ($ios / c if c > 0 else 0, c / $el))")
		echo "mediated qd $qd run $p: $iops IOPS, mediator CPU $(python3 -c "print('%.2f' % ($c1 - $c0))") s: ${pc% *} commands per mediator CPU-second (mediator busy ${pc#* } of a core) (load $(load))"
		med_rows+="| $qd | $p | $iops | ${pc#* } | ${pc% *} | $(load) |"$'\n'
		percore+="${pc% *} "
	done
	med_rows+="| $qd | min / median / max | | | **$(echo $percore | spread '%.0f')** | |"$'\n'
done
# the same runs through a direct queue: the mediator thread should stay idle
c0=$(tcpu "$homid_pid" "$med_tid")
perf "homi:$sock" 128 512 "$tmp/d.json"
c1=$(tcpu "$homid_pid" "$med_tid")
idle_cpu=$(python3 -c "print('%.2f' % ($c1 - $c0))")
stop_homid
fi

# ---------------------------------------------------------------- 3. latencies
lat_rows3=""
if want 3; then
echo "== 3. provisioning and reclaim ($cycles cycles each)"
start_homid "emu:1G,null"
for mode in direct mediated; do
	"$homilat" provision "$sock" "$cycles" "$mode" >"$tmp/prov"
	"$homilat" reclaim "$sock" "$cycles" "$mode" >"$tmp/recl"
	cat "$tmp/prov" "$tmp/recl"
	while read -r name _ n _ mn _ p50 _ p99 _ mx; do
		lat_rows3+="| $mode | $name | $n | $mn | **$p50** | **$p99** | $mx | $(load) |"$'\n'
	done < <(cat "$tmp/prov" "$tmp/recl")
done
stop_homid
fi

# ---------------------------------------------------------------- 4. callgrind
# Instructions of med_fetch + med_reap (one call each per poll of a queue,
# callees included) under callgrind, in two runs (qd 128 and qd 1) that poll
# empty rings in different proportions: Ir = a * commands + b * polls, solved
# for a (instructions per mediated command) and b (per empty poll).
cg_line="not measured (CALLGRIND=0 or valgrind missing)"
cg_run() {
	local qd=$1
	start_homid "emu:1G,null" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$qd" \
		--toggle-collect=med_fetch --toggle-collect=med_reap --collect-atstart=no
	"$aisio" perf run --json --runtime "$((seconds * 2))" --qdepth "$qd" --iosize 512 \
		"homi:$sock,mode=mediated" >"$tmp/cg$qd.json"
	stop_homid
	python3 - "$tmp/cg.$qd" "$tmp/cg$qd.json" <<'PY'
import json, re, sys
ir, polls, fid, want = 0, 0, None, False
for line in open(sys.argv[1]):
    if line.startswith("summary:"):
        ir = int(line.split()[1])
    n = re.match(r"c?fn=\((\d+)\) med_fetch", line)
    if n:
        fid = n.group(1)
    m = re.match(r"cfn=\((\d+)\)", line)
    if m:
        want = m.group(1) == fid
    elif want and line.startswith("calls="):
        polls += int(line.split()[0][6:])
        want = False
print(ir, polls, json.load(open(sys.argv[2]))["total"]["ios"])
PY
}
if want 4 && [ "$do_cg" = 1 ] && command -v valgrind >/dev/null; then
	echo "== 4. callgrind on homid's mediator (med_fetch + med_reap)"
	read -r ir1 p1 c1 < <(cg_run 128)
	read -r ir2 p2 c2 < <(cg_run 1)
	echo "qd 128: $ir1 instructions, $p1 polls, $c1 commands; qd 1: $ir2, $p2, $c2"
	cg_line=$(python3 -c "
ir1, p1, c1, ir2, p2, c2 = $ir1, $p1, $c1, $ir2, $p2, $c2
det = c1 * p2 - c2 * p1
a = (ir1 * p2 - ir2 * p1) / det
b = (c1 * ir2 - c2 * ir1) / det
print('**%.0f instructions per mediated command** and %.0f per empty poll (qd 128: %d instructions, %d polls, %d commands; qd 1: %d, %d, %d; %.0f and %.0f per command with the polls left in)' % (a, b, ir1, p1, c1, ir2, p2, c2, ir1 / c1, ir2 / c2))")
	echo "$cg_line"
fi

commit=$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src tools include || echo "+dirty")
{
	echo "# bench/homi results on $host"
	echo
	echo "Produced by \`bench/homi/run.sh $build\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit."
	echo "RUN_SECONDS=$seconds PAIRS=$pairs CYCLES=$cycles SECTIONS=\"${sections# }\" homid: $homid."
	echo
	echo '```'
	echo "uname -a: $(uname -a)"
	echo "nproc:    $(nproc)"
	echo "CPU:      $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
	echo "load:     $(load) (1/5/15 min, at the end of the run; each row has the load when it was taken)"
	echo '```'
	echo
	echo "Absolute numbers depend on the machine and on what else runs on it; they are not"
	echo "comparable across machines (or across runs on a shared one). The ratios of runs"
	echo "taken side by side in the same run are the result."
	echo
	echo "## 1. Direct homi: queue against the same workload in-process"
	echo
	echo "\`aisio perf run --json --runtime $seconds --iopattern randread --qdepth QD --iosize SIZE URI\`,"
	echo "URI \`emu:MODEL\` (the model in the perf process) or \`homi:SOCK\` (a direct queue of"
	echo "homid running \`--ctrl emu:MODEL\`). $pairs interleaved pairs per row (the order"
	echo "alternates); ratio = homi IOPS / in-process IOPS of the same pair. Goal: ratio >= 0.95."
	echo
	echo "| model | I/O size | qd | in-process IOPS min / median / max | homi IOPS min / median / max | ratio min / median / max | ratios | load |"
	echo "|---|---|---|---|---|---|---|---|"
	printf '%s' "$direct_rows"
	echo
	echo "## 2. Mediated queues (emu:1G,null, 512 B random reads)"
	echo
	echo "Latency added per I/O at qd 1: mean latency of a mediated run minus that of a direct"
	echo "run right before it (same homid). Added ns min / median / max: **$(echo $added | spread '%.0f')**."
	echo
	echo "| pair | direct mean us | direct p50 us | mediated mean us | mediated p50 us | added ns (mean) | load |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s' "$lat_rows"
	echo
	echo "Commands per mediating core: commands completed / CPU seconds (utime + stime) of"
	echo "homid's mediator thread (\`/proc/PID/task/TID/stat\`) over the run. The mediator"
	echo "polls, so its CPU time includes polls that found nothing while the model or the"
	echo "client had the CPU. Goal: >= 10 M per core."
	echo
	echo "| qd | run | IOPS | mediator busy (cores) | commands per mediator CPU-second | load |"
	echo "|---|---|---|---|---|---|"
	printf '%s' "$med_rows"
	echo
	echo "Mediator CPU during a ${seconds} s direct run at qd 128 (it should idle): ${idle_cpu} s."
	echo
	echo "Instructions on the mediator (callgrind on homid, \`--toggle-collect=med_fetch"
	echo "--toggle-collect=med_reap\`, two runs, qd 128 and qd 1, solved for per-command and"
	echo "per-empty-poll cost): $cg_line."
	echo
	echo "## 3. Provisioning and reclaim latency (emu:1G,null)"
	echo
	echo "\`bench/homi/homilat provision|reclaim SOCK $cycles MODE\`, microseconds. provision:"
	echo "aisio_dev_open(\"homi:...\") to the completion of the first 4 KiB read (open, open+buf, open+buf+queue: the"
	echo "time to the end of the open, of aisio_buf_alloc of 4 KiB (registered memory), of a depth-32 queue)."
	echo "reclaim: kill(SIGKILL) of a client in mid-I/O to homid's STATUS (polled every 100 us)"
	echo "showing the queue IDs in use back at the count before it started and its pid gone."
	echo "Goals: provision p50/p99 < 1 ms, reclaim p50/p99 < 100 ms."
	echo
	echo "| mode | figure | cycles | min | p50 | p99 | max | load |"
	echo "|---|---|---|---|---|---|---|---|"
	printf '%s' "$lat_rows3"
} >"$out"
echo "wrote $out"
