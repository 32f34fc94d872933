#!/usr/bin/env bash
# A/B of the driver's hot path (src/drv/io.c) in one machine start.
#
#   bench/driver-cost/ab-h200.sh
#
# Builds drvcost twice from this tree: "new" as it
# is, "old" with src/drv/io.c replaced by OLD_IO (default: src/drv/io.c
# of commit 597c6af, the driver measured in results-gpuhost-h200.md). Everything else is the same source, so the
# difference is the driver file alone. Then runs them alternately (the
# order flips every round), 512 B random reads at queue depth QD, one
# driver thread on CPU 0, null model controllers on the other CPUs, and
# prints every run and a table of min / median / max IOPS and the median
# TSC ticks per I/O of the driver thread (drvcost's second line).
# Environment: ROUNDS (3), RUN_SECONDS (3), CTRLS ("1 2 4"), QD (128),
# OLD_IO, AB_DIR (${TMPDIR:-/tmp}/aisio-ab; removed and rebuilt, so never a
# folder that holds anything else, such as the tree's .ab/).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${ROUNDS:-3}
secs=${RUN_SECONDS:-3}
ctrls=${CTRLS:-1 2 4}
qd=${QD:-128}
old_io=${OLD_IO:-}
if [ -z "$old_io" ]; then # the driver measured in results-gpuhost-h200.md
	old_io=${TMPDIR:-/tmp}/aisio-io-597c6af.c
	git -C "$root" show 597c6af:src/drv/io.c >"$old_io" 2>/dev/null ||
		{ echo "ab-h200.sh: no git history here: give OLD_IO=FILE (an src/drv/io.c to compare with)" >&2; exit 1; }
fi
ab=${AB_DIR:-${TMPDIR:-/tmp}/aisio-ab}

[ -f "$old_io" ] || { echo "ab-h200.sh: $old_io: no such file" >&2; exit 1; }
rm -rf "$ab"
for v in old new; do
	mkdir -p "$ab/$v"
	tar -C "$root" --exclude=./.ab --exclude=./.git --exclude='./build*' -cf - . | tar -C "$ab/$v" -xf -
done
cp "$old_io" "$ab/old/src/drv/io.c"
for v in old new; do
	if ! (meson setup "$ab/$v/b" "$ab/$v" -Dcuda=disabled >"$ab/$v.log" 2>&1 &&
		ninja -C "$ab/$v/b" bench/driver-cost/drvcost >>"$ab/$v.log" 2>&1); then
		echo "ab-h200.sh: building $v failed; see $ab/$v.log" >&2
		tail -20 "$ab/$v.log" >&2
		exit 1
	fi
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "# old: $(sha1sum <"$old_io" | cut -c1-12) new: $(sha1sum <"$root/src/drv/io.c" | cut -c1-12) (sha1 of src/drv/io.c)"
res=$ab/results
: >"$res"
for c in $ctrls; do
	for r in $(seq "$rounds"); do
		order="old new"
		[ $((r % 2)) -eq 0 ] && order="new old"
		for v in $order; do
			out=$("$ab/$v/b/bench/driver-cost/drvcost" --ctrls "$c" --qd "$qd" --seconds "$secs")
			echo "$v $(sed -n 1p <<<"$out")"
			echo "$v $(sed -n 2p <<<"$out")"
			echo "$v $c $(sed -n 's/.* iops \([0-9]*\).*/\1/p' <<<"$out") $(sed -n 's/.* tsc_per_io \([0-9.]*\).*/\1/p' <<<"$out")" >>"$res"
		done
	done
done

# min / median / max per driver and controller count, in M IOPS
stats() {
	awk -v v="$1" -v c="$2" '$1 == v && $2 == c { print $3 }' "$res" | sort -n |
		awk '{ a[NR] = $1 } END { if (!NR) { print "-"; exit }
			m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			printf "%.2f / %.2f / %.2f %.4f\n", a[1] / 1e6, m / 1e6, a[NR] / 1e6, m / 1e6 }'
}
# median TSC ticks per I/O on the driver core (constant-rate TSC, see tsc_ghz)
tscmed() {
	awk -v v="$1" -v c="$2" '$1 == v && $2 == c && $4 != "" { print $4 }' "$res" | sort -n |
		awk '{ a[NR] = $1 } END { if (!NR) { print "-"; exit }
			printf "%.1f\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
echo
echo "| controllers | old M IOPS (min / median / max) | new M IOPS (min / median / max) | new / old (median) | TSC ticks / I/O old / new (median) |"
echo "|---|---|---|---|---|"
for c in $ctrls; do
	o=$(stats old "$c")
	n=$(stats new "$c")
	ratio=$(awk -v a="${o##* }" -v b="${n##* }" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
	echo "| $c | ${o% *} | ${n% *} | $ratio | $(tscmed old "$c") / $(tscmed new "$c") |"
done
