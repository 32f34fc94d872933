#!/usr/bin/env bash
# Variants of the driver's hot path (src/drv/io.c compile-time switches) in one machine start.
#
#   bench/driver-cost/variants-h200.sh
#
# Builds drvcost once per variant from this tree, each with its own -D flags
# (VARIANTS: "name:FLAGS name:FLAGS ..."; flags joined by commas; a flag
# that starts with -- is an option of drvcost instead, --opt=value for
# "--opt value", e.g. each:--ctrl-cpus=each), then runs
# them alternately (the order rotates every round): 512 B random reads at
# queue depth QD, one driver thread on CPU 0, null model controllers on the
# other CPUs; every run, then min / median / max M IOPS per variant and
# controller count, with the median TSC ticks per I/O of the driver thread
# (drvcost's second line). Environment: ROUNDS (3), RUN_SECONDS (2),
# CTRLS ("4 8"), QD (128), VAR_DIR (${TMPDIR:-/tmp}/aisio-var; removed and
# rebuilt), OLD_TAR (a tar of another source tree, e.g. `git archive
# COMMIT`: built as the extra variant "old", to compare with in the same
# machine start).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${ROUNDS:-3}
secs=${RUN_SECONDS:-2}
ctrls=${CTRLS:-4 8}
qd=${QD:-128}
vars=${VARIANTS:-base: no-nt:-DDRV_SQE_NT=0 no-demote:-DEMU_CQ_DEMOTE=0 slotcopy:-DDRV_SQE_REGS=0,-DDRV_SQE_NT=0,-DEMU_CQ_DEMOTE=0}
old_tar=${OLD_TAR:-}
dir=${VAR_DIR:-${TMPDIR:-/tmp}/aisio-var}

rm -rf "$dir"
mkdir -p "$dir/src"
tar -C "$root" --exclude=./.ab --exclude=./.git --exclude='./build*' -cf - . | tar -C "$dir/src" -xf -
names=()
declare -A runargs
# build NAME SOURCE C_ARGS: drvcost of SOURCE in $dir/NAME, in the background
build() {
	names+=("$1")
	(meson setup "$dir/$1" "$2" -Dcuda=disabled -Dbuildtype=plain "-Dc_args=$3" >"$dir/$1.log" 2>&1 &&
		ninja -C "$dir/$1" bench/driver-cost/drvcost >>"$dir/$1.log" 2>&1) &
}
if [ -n "$old_tar" ]; then
	[ -f "$old_tar" ] || { echo "variants-h200.sh: OLD_TAR=$old_tar: no such file" >&2; exit 1; }
	mkdir -p "$dir/oldsrc"
	tar -C "$dir/oldsrc" -xf "$old_tar"
	build old "$dir/oldsrc" "['-O2']"
fi
for v in $vars; do
	n=${v%%:*} f=${v#*:} cargs="'-O2'" runargs[$n]=""
	for x in ${f//,/ }; do
		case "$x" in
		--*=*) runargs[$n]+=" ${x%%=*} ${x#*=}" ;;
		--*) runargs[$n]+=" $x" ;;
		*) cargs+=", '$x'" ;;
		esac
	done
	build "$n" "$dir/src" "[$cargs]"
done
wait
for n in "${names[@]}"; do
	[ -x "$dir/$n/bench/driver-cost/drvcost" ] || { echo "variants-h200.sh: building $n failed; see $dir/$n.log" >&2; tail -20 "$dir/$n.log" >&2; exit 1; }
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), qd $qd, $secs s a run"
echo "# variants: $vars${old_tar:+ old:$(basename "$old_tar")}"
res=$dir/results
: >"$res"
nv=${#names[@]}
for c in $ctrls; do
	for r in $(seq "$rounds"); do
		for k in $(seq 0 $((nv - 1))); do
			n=${names[$(((k + r) % nv))]}
			# shellcheck disable=SC2086 # the variant's options, split
			out=$("$dir/$n/bench/driver-cost/drvcost" --ctrls "$c" --qd "$qd" --seconds "$secs" ${runargs[$n]:-})
			echo "$n $(sed -n 1p <<<"$out")"
			echo "$n $(sed -n 2p <<<"$out")"
			echo "$n $c $(sed -n 's/.* iops \([0-9]*\).*/\1/p' <<<"$out") $(sed -n 's/.* tsc_per_io \([0-9.]*\).*/\1/p' <<<"$out")" >>"$res"
		done
	done
done
echo
echo "| variant | controllers | M IOPS min / median / max | median / base median | TSC ticks per I/O (median) |"
echo "|---|---|---|---|---|"
for c in $ctrls; do
	base=$(awk -v c="$c" '$1 == "base" && $2 == c { print $3 }' "$res" | sort -n | awk '{ a[NR] = $1 } END { print NR ? (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) : 0 }')
	for n in "${names[@]}"; do
		tk=$(awk -v v="$n" -v c="$c" '$1 == v && $2 == c && $4 != "" { print $4 }' "$res" | sort -n |
			awk '{ a[NR] = $1 } END { if (!NR) print "-"; else printf "%.1f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
		awk -v v="$n" -v c="$c" '$1 == v && $2 == c { print $3 }' "$res" | sort -n |
			awk -v v="$n" -v c="$c" -v b="$base" -v tk="$tk" '{ a[NR] = $1 } END { if (!NR) exit
				m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
				printf "| %s | %s | %.2f / %.2f / %.2f | %.2f | %s |\n", v, c, a[1] / 1e6, m / 1e6, a[NR] / 1e6, (b > 0 ? m / b : 0), tk }'
	done
done
