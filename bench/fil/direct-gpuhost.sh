#!/usr/bin/env bash
# The device model's data into GPU memory from a page-cached file store, on the GPU host:
# straight from the store's registered pages (gpu_direct=1: registered by 1 GiB chunks as
# the reads reach them; eager: all when the model opens) against the staging path
# (gpu_direct=0: a CPU copy of every byte into pinned staging, as before).
#   OUT=/tmp/direct bench/fil/direct-gpuhost.sh        # about 3 minutes
# aisio perf cuda-run: GPU threads (8 queues x 64) read sequentially, 1 MiB and 128 KiB
# commands, from one model with 4 controller threads (mdts=8) on an 8 GiB file written
# just before (page cache; in /dev/shm when /tmp is short), 3 rounds of RUNTIME s each.
# Prints a table (also $OUT/table.md): GB/s min / median / max, the share of the bytes
# that went direct, registration time and CPU cores (CPU s / wall s of the whole process,
# polling threads included), and the pinned copy ceiling (cuda-run --probe, h2d_copy).
# AISIO=path skips the build. Exit 1 when a run failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/direct}
ROUNDS=${ROUNDS:-3}
SIZE_G=${SIZE_G:-8}
RUNTIME=${RUNTIME:-3}
MODEL=${MODEL_OPTS:-threads=4,mdts=8}
mkdir -p "$OUT/raw"
OUT=$(cd "$OUT" && pwd)
export PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH
rc=0
{
	nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
	echo "cpus $(nproc): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	uname -r
	git log -1 --format='commit %H' 2>/dev/null
} | tee "$OUT/machine.txt"
if [ -z "${AISIO:-}" ]; then
	B=build-direct
	if [ ! -f "$B/build.ninja" ]; then
		meson setup "$B" -Dcuda=enabled -Dbuildtype=release -Db_ndebug=true >"$OUT/build.log" 2>&1 ||
			{ tail -30 "$OUT/build.log"; echo "FAILED: meson setup"; exit 1; }
	fi
	ninja -C "$B" aisio >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; echo "FAILED: build"; exit 1; }
	AISIO=$PWD/$B/aisio
fi
AV=$(df -B1G --output=avail /tmp | tail -1 | tr -d ' ')
if [ "$AV" -ge $((SIZE_G + 8)) ]; then D=/tmp/direct-bench; else D=/dev/shm/direct-bench; fi
mkdir -p "$D"
IMG=$D/store.img
trap 'rm -rf "$D"' EXIT
echo "== an ${SIZE_G} GiB file in page cache: $IMG"
dd if=/dev/urandom of="$IMG" bs=1M count=$((SIZE_G * 1024)) status=none || { echo "FAILED: dd"; exit 1; }
cat "$IMG" >/dev/null

echo "== pinned copy ceiling"
timeout 120 "$AISIO" perf cuda-run --probe --json --nqueues 1 --qdepth 1 --runtime 0.1 emu:64M,null \
	>"$OUT/raw/probe.json" 2>"$OUT/raw/probe.err" || { echo "FAILED: probe"; rc=1; }

TIMEFORMAT='cpu %U %S wall %R'
for r in $(seq 1 "$ROUNDS"); do
	for mode in 0 1 eager; do
		for io in 1M 128K; do
			n=direct-$mode-$io-r$r
			{ time AISIO_GPU_DMA_REPORT=1 timeout 120 "$AISIO" perf cuda-run --json --iopattern read \
				--nqueues 8 --qdepth 64 --iosize "$io" --runtime "$RUNTIME" \
				"emu:${SIZE_G}G,file=$IMG,$MODEL,gpu_direct=$mode" >"$OUT/raw/$n.json" 2>"$OUT/raw/$n.err"; } \
				2>"$OUT/raw/$n.time"
			e=$?
			if [ $e -ne 0 ] || ! grep -q '"errors":0,' "$OUT/raw/$n.json"; then
				echo "FAILED: $n: exit $e: $(tail -2 "$OUT/raw/$n.err" | tr '\n' ' ')"
				rc=1
			else
				echo "  $n: $(grep -o '"mib_s":[0-9.]*\|"dma_direct_bytes":[0-9]*\|"dma_bytes":[0-9]*' "$OUT/raw/$n.json" | tr '\n' ' ')"
			fi
		done
	done
done

python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import glob, json, os, re, statistics, sys
out = sys.argv[1]
rows = {}
for path in sorted(glob.glob(os.path.join(out, "raw", "direct-*.json"))):
    m = re.match(r"direct-(\w+)-(\w+)-r(\d+)\.json", os.path.basename(path))
    mode, io = m.group(1), m.group(2)
    try:
        j = json.loads(open(path).readline())
    except Exception:
        continue
    base = path[:-5]
    t = open(base + ".time").read().split()
    cores = (float(t[1]) + float(t[2])) / float(t[4]) if len(t) >= 5 and float(t[4]) else 0
    reg = sum(float(x) for x in re.findall(r"reg_ms ([0-9.]+)", open(base + ".err").read()))
    r = rows.setdefault((mode, io), [])
    r.append((j["mib_s"] * 1048576 / 1e9, j.get("dma_direct_bytes", 0) / j["dma_bytes"] if j.get("dma_bytes") else 0,
              reg, cores))
def mmm(v):
    return "%.2f / %.2f / %.2f" % (min(v), statistics.median(v), max(v))
print("| gpu_direct | iosize | GB/s min / median / max | direct share | registering (ms) | CPU cores | rounds |")
print("|---|---|---|---|---|---|---|")
for (mode, io), r in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print("| %s | %s | %s | %.2f | %s | %s | %d |" % (mode, io, mmm([x[0] for x in r]), min(x[1] for x in r),
          mmm([x[2] for x in r]), mmm([x[3] for x in r]), len(r)))
ceil = []
if os.path.exists(os.path.join(out, "raw", "probe.json")):
    for line in open(os.path.join(out, "raw", "probe.json")):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("probe") == "h2d_copy":
            ceil.append("%s streams %.2f GB/s" % (j.get("streams"), j.get("gb_per_s", 0)))
print("\npinned copy ceiling (cuda-run --probe, h2d_copy): " + ("; ".join(ceil) or "not measured"))
PY
exit $rc
