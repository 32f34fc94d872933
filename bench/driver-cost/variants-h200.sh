#!/usr/bin/env bash
# Variants of the driver's hot path (src/drv/io.c compile-time switches) in one machine start.
#
#   bench/driver-cost/variants-h200.sh
#
# Builds drvcost once per variant from this tree, each with its own -D flags
# (VARIANTS: "name:FLAGS name:FLAGS ..."; flags joined by commas), then runs
# them alternately (the order rotates every round): 512 B random reads at
# queue depth QD, one driver thread on CPU 0, null model controllers on the
# other CPUs; every run, then min / median / max M IOPS per variant and
# controller count. Environment: ROUNDS (3), RUN_SECONDS (2), CTRLS ("4 8"),
# QD (128), VAR_DIR (${TMPDIR:-/tmp}/aisio-var; removed and rebuilt).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${ROUNDS:-3}
secs=${RUN_SECONDS:-2}
ctrls=${CTRLS:-4 8}
qd=${QD:-128}
vars=${VARIANTS:-base: pfsq4:-DDRV_PF_SQ=4 pfsq16:-DDRV_PF_SQ=16 pfsqreap:-DDRV_PF_SQ_REAP=1 pfcq8:-DDRV_PF_CQ=8 pfsqreap+cq:-DDRV_PF_SQ_REAP=1,-DDRV_PF_CQ=8}
dir=${VAR_DIR:-${TMPDIR:-/tmp}/aisio-var}

rm -rf "$dir"
mkdir -p "$dir/src"
tar -C "$root" --exclude=./.ab --exclude=./.git --exclude='./build*' -cf - . | tar -C "$dir/src" -xf -
names=()
for v in $vars; do
	n=${v%%:*} f=${v#*:}
	names+=("$n")
	args="['-O2'$(for x in ${f//,/ }; do printf ", '%s'" "$x"; done)]"
	(meson setup "$dir/$n" "$dir/src" -Dcuda=disabled -Dbuildtype=plain "-Dc_args=$args" >"$dir/$n.log" 2>&1 &&
		ninja -C "$dir/$n" bench/driver-cost/drvcost >>"$dir/$n.log" 2>&1) &
done
wait
for n in "${names[@]}"; do
	[ -x "$dir/$n/bench/driver-cost/drvcost" ] || { echo "variants-h200.sh: building $n failed; see $dir/$n.log" >&2; tail -20 "$dir/$n.log" >&2; exit 1; }
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), qd $qd, $secs s a run"
echo "# variants: $vars"
res=$dir/results
: >"$res"
nv=${#names[@]}
for c in $ctrls; do
	for r in $(seq "$rounds"); do
		for k in $(seq 0 $((nv - 1))); do
			n=${names[$(((k + r) % nv))]}
			line=$("$dir/$n/bench/driver-cost/drvcost" --ctrls "$c" --qd "$qd" --seconds "$secs" | head -1)
			echo "$n $line"
			echo "$n $c $(sed -n 's/.* iops \([0-9]*\).*/\1/p' <<<"$line")" >>"$res"
		done
	done
done
echo
echo "| variant | controllers | M IOPS min / median / max | median / base median |"
echo "|---|---|---|---|"
for c in $ctrls; do
	base=$(awk -v c="$c" '$1 == "base" && $2 == c { print $3 }' "$res" | sort -n | awk '{ a[NR] = $1 } END { print NR ? (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) : 0 }')
	for n in "${names[@]}"; do
		awk -v v="$n" -v c="$c" '$1 == v && $2 == c { print $3 }' "$res" | sort -n |
			awk -v v="$n" -v c="$c" -v b="$base" '{ a[NR] = $1 } END { if (!NR) exit
				m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
				printf "| %s | %s | %.2f / %.2f / %.2f | %.2f |\n", v, c, a[1] / 1e6, m / 1e6, a[NR] / 1e6, (b > 0 ? m / b : 0) }'
	done
done
