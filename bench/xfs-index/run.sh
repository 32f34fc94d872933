#!/usr/bin/env bash
# bench/xfs-index: index a 1M-file XFS image with the on-disk decoder
# (aisio xfs, through the I/O API, unmounted) and with a FIEMAP walk of the
# same file system mounted, in the same run, from cold caches.
#
# Usage: bench/xfs-index/run.sh [NFILES]   (root; default 1000000)
# Env:   BUILD (default build), WORK (scratch dir, default /var/tmp/aisio-xfs-bench),
#        KEEP=1 reuses an image already built there.
# Writes bench/xfs-index/results-<host>.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-1000000}
build=${BUILD:-$root/build}
aisio=$build/aisio
work=${WORK:-/var/tmp/aisio-xfs-bench}
img=$work/xfs-$n.img
mnt=$work/mnt
out=$here/results-$(hostname -s).md

[ "$(id -u)" -eq 0 ] || { echo "run as root (mkfs, mount, drop_caches)"; exit 1; }
[ -x "$aisio" ] || { echo "build first: make (no $aisio)"; exit 1; }
mkdir -p "$work" "$mnt"

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

# Decoder: unmounted image, psync backend, 32 reads in flight.
drop
timed "$work/dec.time" "$aisio" xfs find -s "$img" > "$work/dec.find" 2> "$work/dec.stats"
dec_stats=$(grep '^index:' "$work/dec.stats")
read -r dec_wall dec_rss < "$work/dec.time"
dec_files=$(wc -l < "$work/dec.find")

# Same through io_uring: the reads really are in flight together.
drop
timed "$work/decu.time" "$aisio" xfs find -s -b io_uring "$img" > /dev/null 2> "$work/decu.stats"
read -r decu_wall decu_rss < "$work/decu.time"

# Queue depth 1, to show what keeping reads in flight buys.
drop
timed "$work/dec1.time" "$aisio" xfs find -s -q 1 -b io_uring "$img" > /dev/null 2> "$work/dec1.stats"
read -r dec1_wall dec1_rss < "$work/dec1.time"

# FIEMAP walk of the mounted file system.
mount -o loop,ro "$img" "$mnt"
drop
timed "$work/fie.time" "$aisio" extents -r "$mnt" > "$work/fie.raw"
read -r fie_wall fie_rss < "$work/fie.time"
fie_files=$(wc -l < "$work/fie.raw")
find_wall=$( { /usr/bin/time -f "%e" find "$mnt" > /dev/null; } 2>&1 )
umount "$mnt"

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cat > "$out" <<EOT
# bench/xfs-index on $(hostname -s)

$(date -u +%Y-%m-%dT%H:%MZ). Machine: $cpu, $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB RAM,
kernel $(uname -r); image: sparse file on $(df --output=source "$work" | tail -1) ($(df -T "$work" | awk 'NR==2 {print $2}')),
$n files ($(du -h "$img" | cut -f1) allocated of 8 GiB). Page cache dropped before each run.

| method | files | wall s | max RSS MiB |
|---|---|---|---|
| aisio xfs (decoder, image unmounted, psync, 32 in flight) | $dec_files | $dec_wall | $((dec_rss / 1024)) |
| aisio xfs, io_uring, 32 in flight | $dec_files | $decu_wall | $((decu_rss / 1024)) |
| aisio xfs, io_uring, 1 in flight | $dec_files | $dec1_wall | $((dec1_rss / 1024)) |
| FIEMAP walk (aisio extents -r, mounted, loop device) | $fie_files | $fie_wall | $((fie_rss / 1024)) |
| find (names only, mounted, after the FIEMAP walk: warm) | | $find_wall | |

Decoder: $dec_stats

Decoder, io_uring: $(grep '^index:' "$work/decu.stats")

Decoder, io_uring, queue depth 1: $(grep '^index:' "$work/dec1.stats")

The machine is shared (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end of the run): compare
rows of this run with each other, not absolute times across runs.

Ratio FIEMAP walk / decoder (psync) wall time: $(echo "scale=2; $fie_wall / $dec_wall" | bc | sed "s/^\./0./");
FIEMAP walk max RSS / decoder max RSS: $(echo "scale=2; $fie_rss / $dec_rss" | bc | sed "s/^\./0./").

Reproduce: \`sudo bench/xfs-index/run.sh $n\` (BUILD=$build).
EOT
cat "$out"
