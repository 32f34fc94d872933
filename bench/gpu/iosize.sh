#!/usr/bin/env bash
# The I/O-size study: GPU threads needed to reach the host-to-GPU link limit
# at 4 KiB .. 128 KiB, with a memory-backed model that moves real data into
# GPU memory (cuda-run, randread; every byte goes through the GPU DMA
# provider's copy engines).
#
#  1. ceiling: `aisio perf cuda-run --probe` copies pinned host memory into
#     GPU memory with cudaMemcpyAsync on 1, 2 and 4 streams; the best is the
#     ceiling the goal refers to (>= 80 % of it at >= 64 KiB).
#  2. sweep: 8 memory-backed controllers, 16 GPU queues, qdepth 4..256
#     (64..4096 GPU threads, one command each), every size; ROUNDS rounds
#     (default 3), each a fresh process (fresh controllers and GPU state).
#  3. the same at 4 KiB and 64 KiB with AISIO_GPU_DMA=serial (the model waits
#     for every batch's copies, as before pipelining), one round, for the
#     before/after.
#  4. summary.md: GB/s per size and thread count (min/median/max over
#     rounds), % of the ceiling, and the fewest threads whose median reached
#     80 % of it. A run with errors, timeouts or failed copies is marked.
#
# usage: bench/gpu/iosize.sh AISIO OUTDIR
#   env: ROUNDS (3), RUNTIME seconds per combination (1), CTRLS (8),
#        SIZES (4k,8k,16k,32k,64k,128k), QDEPTHS (4,16,64,256)
set -uo pipefail
AISIO=${1:?usage: iosize.sh AISIO OUTDIR}
OUT=${2:?usage: iosize.sh AISIO OUTDIR}
ROUNDS=${ROUNDS:-3}
RUNTIME=${RUNTIME:-1}
CTRLS=${CTRLS:-8}
SIZES=${SIZES:-4k,8k,16k,32k,64k,128k}
QDEPTHS=${QDEPTHS:-4,16,64,256}
mkdir -p "$OUT"
rc=0

echo "== iosize: ceiling probe ($(date -u +%H:%M:%S))"
timeout 120 "$AISIO" perf cuda-run --probe --json --nqueues 1 --qdepth 1 --runtime 0.1 emu:64M,null \
	>"$OUT/iosize_probe.json" 2>"$OUT/iosize_probe.err" || rc=1
grep h2d_copy "$OUT/iosize_probe.json" || { echo "FAIL: no h2d_copy probe result"; cat "$OUT/iosize_probe.err"; rc=1; }

for r in $(seq 1 "$ROUNDS"); do
	echo "== iosize: sweep round $r ($(date -u +%H:%M:%S))"
	timeout 200 "$AISIO" perf cuda-run --json --ctrls "$CTRLS" --nqueues 16 --qdepth "$QDEPTHS" \
		--iosize "$SIZES" --runtime "$RUNTIME" emu:1G >"$OUT/iosize_round$r.json" 2>"$OUT/iosize_round$r.err"
	e=$?
	echo "exit $e"
	[ $e -ne 0 ] && { tail -3 "$OUT/iosize_round$r.err"; rc=1; }
done

echo "== iosize: serial copies, for comparison ($(date -u +%H:%M:%S))"
AISIO_GPU_DMA=serial timeout 120 "$AISIO" perf cuda-run --json --ctrls "$CTRLS" --nqueues 16 --qdepth 64,256 \
	--iosize 4k,64k --runtime "$RUNTIME" emu:1G >"$OUT/iosize_serial.json" 2>"$OUT/iosize_serial.err"
echo "exit $?"

python3 - "$OUT" "$ROUNDS" >"$OUT/iosize_summary.md" <<'PY'
import json, sys, statistics, glob, os
out, rounds = sys.argv[1], int(sys.argv[2])
def load(path):
    rows = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.startswith('{'):
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
    return rows
ceil = max([r['gb_per_s'] for r in load(f'{out}/iosize_probe.json') if r.get('probe') == 'h2d_copy'] or [0])
cells, bad = {}, set()
for i in range(1, rounds + 1):
    for r in load(f'{out}/iosize_round{i}.json'):
        if 'iosize' not in r:
            continue
        k = (r['iosize'], r['threads'])
        cells.setdefault(k, []).append(r['dma_bytes'] / r['elapsed_s'] / 1e9 if r['elapsed_s'] else 0)
        if r['errors'] or r['timeouts'] or r['dma_failed'] or r['dma_bytes'] != r['ios'] * r['iosize']:
            bad.add(k)
sizes = sorted({k[0] for k in cells})
threads = sorted({k[1] for k in cells})
print('# I/O-size study: data moved into GPU memory by a memory-backed model\n')
print(f'Host-to-GPU copy ceiling (cuda-run --probe, best of 1/2/4 streams): **{ceil:.2f} GB/s**; goal: >= 80 % '
      f'({0.8 * ceil:.2f} GB/s) at >= 64 KiB.\n')
print('GB/s = bytes the model copied into GPU memory / kernel time; min / median / max over '
      f'{rounds} rounds (fresh process each). `!` = a run of that cell had errors, timeouts, failed '
      'copies or copied bytes != reads x size.\n')
print('| size | ' + ' | '.join(f'{t} threads' for t in threads) + ' | fewest threads >= 80 % |')
print('|---|' + '---|' * (len(threads) + 1))
for s in sizes:
    row, first = [], '-'
    for t in threads:
        v = cells.get((s, t), [])
        if not v:
            row.append('n/a')
            continue
        med = statistics.median(v)
        pct = f' ({100 * med / ceil:.0f} %)' if ceil else ''
        row.append(f'{min(v):.1f} / {med:.1f} / {max(v):.1f}{pct}{" !" if (s, t) in bad else ""}')
        if first == '-' and ceil and med >= 0.8 * ceil and (s, t) not in bad:
            first = str(t)
    print(f'| {s // 1024} KiB | ' + ' | '.join(row) + f' | {first} |')
ser = load(f'{out}/iosize_serial.json')
if ser:
    print('\nAISIO_GPU_DMA=serial (the model waits for each batch\'s copies), one round:\n')
    print('| size | threads | GB/s | pipelined median |')
    print('|---|---|---|---|')
    for r in ser:
        if 'iosize' not in r:
            continue
        g = r['dma_bytes'] / r['elapsed_s'] / 1e9 if r['elapsed_s'] else 0
        v = cells.get((r['iosize'], r['threads']), [])
        print(f"| {r['iosize'] // 1024} KiB | {r['threads']} | {g:.1f} | {statistics.median(v):.1f} |" if v else
              f"| {r['iosize'] // 1024} KiB | {r['threads']} | {g:.1f} | n/a |")
PY
cat "$OUT/iosize_summary.md"
exit $rc
