#!/usr/bin/env python3
"""The compact table of a bench/fil/run-gpuhost.sh run: table.py OUTDIR

One row per case (OUTDIR/raw/aisio-CASE-rN.json, one `aisio fil run --json` per round):
path and memory, threads, GB/s and files/s min / median / max, CPU cores (CPU seconds /
wall seconds, median), rounds verified; then kvikio (OUTDIR/kvikio.jsonl), the pinned copy
ceiling and the failures. Markdown on stdout.
"""
import glob
import json
import os
import re
import statistics
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "."


def mmm(xs, fmt):
    if not xs:
        return "-"
    s = sorted(xs)
    return " / ".join(fmt % v for v in (s[0], statistics.median(s), s[-1]))


def load(p):
    try:
        with open(p) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


cases = {}
# every round leaves its .err; a failed round leaves no .json
for p in sorted(glob.glob(os.path.join(out, "raw", "aisio-*-r*.err"))):
    m = re.match(r"aisio-(.*)-r(\d+)\.err$", os.path.basename(p))
    if m:
        cases.setdefault(m.group(1), []).append(load(p[:-4] + ".json"))


def how(j):
    if j["path"] == "gpu-nvme":
        via = "homid's queues" if j["target"].startswith("homi:") else "in-process model"
        return "GPU-initiated (%s), %d GPU threads (%d queues x %d)" % (via, j["gpu_threads"], j["threads"], j["qd"])
    if j["path"] == "gpu":
        x = j.get("xfer", "stage") + (" --pipe" if j.get("pipe") else "")
        if j.get("stage_copy") == "kernel":
            x += ", staged bytes by a copy kernel (%d slots)" % j.get("kernel_slots", 0)
        return "kernel path (a), %s, %d threads" % (x, j["threads"])
    if j["path"] == "homi":
        return "user-space NVMe via homid%s, %d threads x qd %d" % (
            " (b)" if j["mem"] == "gpu" else "", j["threads"], j["qd"])
    return "%d threads" % j["threads"]


ceil = [load(p) for p in sorted(glob.glob(os.path.join(out, "raw", "ceiling-*.json")))]
ceil = [c for c in ceil if c]
print("| case | path -> memory | how | GB/s min / med / max | files/s min / med / max | CPU cores med | verified |")
print("|---|---|---|---|---|---|---|")
for name, runs in sorted(cases.items()):
    ok = [j for j in runs if j]
    if not ok:
        print("| %s | FAILED (%d rounds, see raw/aisio-%s-r*.err) | | | | | |" % (name, len(runs), name))
        continue
    j = ok[0]
    gbs = [x["gb_per_s"] for x in ok]
    fps = [x["files_per_s"] for x in ok]
    cores = statistics.median([x["cpu_s"] / x["seconds"] for x in ok if x["seconds"] > 0] or [0])
    ver = sum(1 for x in ok if x.get("verify") == "ok")
    print("| %s | %s -> %s | %s | %s | %s | %.2f | %d of %d |" % (
        name, j["path"], j["mem"], how(j), mmm(gbs, "%.2f"), mmm(fps, "%.0f"), cores, ver, len(runs)))
kv = os.path.join(out, "kvikio.jsonl")
if os.path.exists(kv):
    for line in open(kv):
        try:
            k = json.loads(line)
        except ValueError:
            continue
        fps = k.get("files_per_s") or []
        print("| kvikio | kvikio compat -> gpu | %s, %s threads%s | %.2f / %.2f / %.2f | %s | - | %s |" % (
            k.get("case", "?"), k.get("threads", "?"), ", chunk %s" % k["chunk"] if "chunk" in k else "",
            k.get("min", 0), k.get("median", 0), k.get("max", 0), mmm(fps, "%.0f"), k.get("verified", "?")))
if ceil:
    print()
    print("Pinned copy ceiling (host -> GPU, 1 GiB x 4 a round): " +
          "; ".join("%.2f / %.2f / %.2f GB/s" % (c["min"], c["median"], c["max"]) for c in ceil))
fp = os.path.join(out, "failures.txt")
if os.path.exists(fp) and os.path.getsize(fp):
    print()
    print("FAILURES:")
    sys.stdout.write(open(fp).read())
