#!/usr/bin/env bash
# bench/xfs-index: index a 1M-file XFS image with the on-disk decoder
# (aisio xfs, through the I/O API, unmounted) and with a FIEMAP walk of the
# same file system mounted, in the same run, from cold caches.
#
# Usage: bench/xfs-index/run.sh [NFILES]   (root; default 1000000)
# Env:   BUILD (default build), RUNS (rounds, default 3), WORK (scratch dir, default /var/tmp/aisio-xfs-bench),
#        KEEP=1 reuses an image already built there.
# Writes bench/xfs-index/results-<host>.md (or OUT).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-1000000}
build=${BUILD:-$root/build}
runs=${RUNS:-3}
aisio=$build/aisio
work=${WORK:-/var/tmp/aisio-xfs-bench}
img=$work/xfs-$n.img
mnt=$work/mnt
out=${OUT:-$here/results-$(hostname -s).md}

[ "$(id -u)" -eq 0 ] || { echo "run as root (mkfs, mount, drop_caches)"; exit 1; }
[ -x "$aisio" ] || { echo "build first: make (no $aisio)"; exit 1; }
mkdir -p "$work" "$mnt"
rm -f "$work"/round.*

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
timed() { # timed OUTFILE CMD... : wall seconds and max RSS (KiB) into OUTFILE
	/usr/bin/time -f "%e %M" -o "$1" "${@:2}"
}

if [ "${KEEP:-0}" != 1 ] || [ ! -f "$img" ]; then
	rm -f "$img"
	truncate -s 8G "$img"
	mkfs.xfs -q -f "$img"
	mount -o loop "$img" "$mnt"
	t0=$(date +%s.%N)
	python3 "$here/populate.py" "$mnt" "$n"
	sync
	echo "populated $n files in $(echo "$(date +%s.%N) - $t0" | bc) s"
	umount "$mnt"
fi

# One round: every method once, each from a dropped page cache.
# Writes "dec decu dec1 fie find" wall seconds and the max RSS of each to $work/round.N.
round() { # N
	local r=$1
	# Decoder: unmounted image, psync backend, 32 reads in flight.
	drop
	timed "$work/dec.time" "$aisio" xfs find -s "$img" > "$work/dec.find" 2> "$work/dec.stats"
	# Same through io_uring: the reads really are in flight together.
	drop
	timed "$work/decu.time" "$aisio" xfs find -s -b io_uring "$img" > /dev/null 2> "$work/decu.stats"
	# Queue depth 1, to show what keeping reads in flight buys.
	drop
	timed "$work/dec1.time" "$aisio" xfs find -s -q 1 -b io_uring "$img" > /dev/null 2> "$work/dec1.stats"
	# FIEMAP walk of the mounted file system.
	mount -o loop,ro "$img" "$mnt"
	drop
	timed "$work/fie.time" "$aisio" extents -r "$mnt" > "$work/fie.raw"
	/usr/bin/time -f "%e" -o "$work/find.time" find "$mnt" > /dev/null
	umount "$mnt"
	echo "$(cat "$work/dec.time") $(cat "$work/decu.time") $(cat "$work/dec1.time") $(cat "$work/fie.time") $(cat "$work/find.time")" > "$work/round.$r"
	echo "round $r: $(cat "$work/round.$r") (wall s and max RSS KiB: psync, io_uring, io_uring qd1, FIEMAP; find s)" >&2
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$runs"); do round "$r"; done
dec_stats=$(grep '^index:' "$work/dec.stats")
dec_files=$(wc -l < "$work/dec.find")
fie_files=$(wc -l < "$work/fie.raw")

# Columns of the rounds: 1 dec wall, 2 dec rss, 3 decu wall, 4 decu rss, 5 dec1 wall,
# 6 dec1 rss, 7 fie wall, 8 fie rss, 9 find wall. "median (min...max)" of an expression.
spread() { # EXPR FORMAT
	cat "$work"/round.* | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
v = [eval(sys.argv[1], {"c": [None] + r}) for r in rows]
f = sys.argv[2]
print((f + " (" + f + "..." + f + ")") % (statistics.median(v), min(v), max(v)))' "$1" "$2"
}

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cat > "$out" <<EOT
# bench/xfs-index on $(hostname -s)

$(date -u +%Y-%m-%dT%H:%MZ). Machine: $cpu, $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB RAM,
kernel $(uname -r); image: sparse file on $(df --output=source "$work" | tail -1) ($(df -T "$work" | awk 'NR==2 {print $2}')),
$n files ($(du -h "$img" | cut -f1) allocated of 8 GiB). Page cache dropped before each measurement.
aisio $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?').

$runs rounds; a round runs every method once, in the order of the table. Each cell
reads median (min...max) over the rounds.

| method | files | wall s | max RSS MiB |
|---|---|---|---|
| aisio xfs (decoder, image unmounted, psync, 32 in flight) | $dec_files | $(spread 'c[1]' %.2f) | $(spread 'c[2]/1024' %.0f) |
| aisio xfs, io_uring, 32 in flight | $dec_files | $(spread 'c[3]' %.2f) | $(spread 'c[4]/1024' %.0f) |
| aisio xfs, io_uring, 1 in flight | $dec_files | $(spread 'c[5]' %.2f) | $(spread 'c[6]/1024' %.0f) |
| FIEMAP walk (aisio extents -r, mounted, loop device) | $fie_files | $(spread 'c[7]' %.2f) | $(spread 'c[8]/1024' %.0f) |
| find (names only, mounted, after the FIEMAP walk: warm) | | $(spread 'c[9]' %.2f) | |

Ratios, taken within each round:

- FIEMAP walk / decoder (psync) wall time: $(spread 'c[7]/c[1]' %.2f)
- FIEMAP walk / decoder (io_uring, 32 in flight) wall time: $(spread 'c[7]/c[3]' %.2f)
- decoder io_uring 1 in flight / 32 in flight wall time: $(spread 'c[5]/c[3]' %.2f)
- FIEMAP walk max RSS / decoder (psync) max RSS: $(spread 'c[8]/c[2]' %.2f)

Last round's decoder statistics:

- psync: $dec_stats
- io_uring: $(grep '^index:' "$work/decu.stats")
- io_uring, queue depth 1: $(grep '^index:' "$work/dec1.stats")

The machine is shared with other work (load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg)
at the end): compare rows of this run with each other, not absolute times across runs.

Each round (wall s, max RSS KiB: psync, io_uring, io_uring qd 1, FIEMAP walk; then find s):

\`\`\`
$(for f in "$work"/round.*; do echo "${f##*.}: $(cat "$f")"; done)
\`\`\`

Reproduce: \`sudo RUNS=$runs bench/xfs-index/run.sh $n\` (BUILD=$build).
EOT
cat "$out"
