#!/usr/bin/env python3
"""Summary of a bench/fil run: summarize.py OUTDIR (reads OUTDIR/raw/*.json, OUTDIR/kvikio.jsonl).

Prints a markdown summary: every case with min/median/max GB/s over its rounds, files/s,
CPU cores used (CPU seconds / wall seconds), CPU s/GB and verification; then the ratios
issue 14 asks for: large files against the pinned copy ceiling measured in the same run,
1 MiB chunks and 128 KiB files against kvikio.
"""
import glob
import json
import os
import re
import statistics
import sys

out = sys.argv[1]


def mmm(xs):
    return (min(xs), statistics.median(xs), max(xs)) if xs else (float("nan"),) * 3


def load(p):
    try:
        with open(p) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except Exception:
        return None


cases = {}
for p in sorted(glob.glob(os.path.join(out, "raw", "aisio-*-r*.json"))):
    m = re.match(r"aisio-(.*)-r(\d+)\.json", os.path.basename(p))
    j = load(p)
    if m and j:
        cases.setdefault(m.group(1), []).append(j)
ceil = [load(p) for p in sorted(glob.glob(os.path.join(out, "raw", "ceiling-*.json")))]
ceil = [c for c in ceil if c]
kv = []
if os.path.exists(os.path.join(out, "kvikio.jsonl")):
    kv = [json.loads(l) for l in open(os.path.join(out, "kvikio.jsonl")) if l.strip()]

print("# bench/fil: aisio fil run" + (" into GPU memory" if ceil else "") + "\n")
if os.path.exists(os.path.join(out, "machine.txt")):
    print("Machine:\n```\n" + open(os.path.join(out, "machine.txt")).read().strip() + "\n```\n")
print("GB/s are decimal; min / median / max over the rounds.\n")
if ceil:
    print("## Pinned copy ceiling (aisio fil ceiling, 1 GiB x 4 per round)\n")
for i, c in enumerate(ceil):
    print(f"- {'before' if i == 0 else 'after'} the reads: {c['min']:.2f} / {c['median']:.2f} / {c['max']:.2f} GB/s")
ceil_med = statistics.median([c["median"] for c in ceil]) if ceil else float("nan")
print()
probe = []
if os.path.exists(os.path.join(out, "raw", "regprobe.jsonl")):
    probe = [json.loads(l) for l in open(os.path.join(out, "raw", "regprobe.jsonl")) if l.strip().startswith("{")]
if probe:
    print("## Registration probe (aisio fil regprobe on the page-cached big file, one round)\n")
    print("| piece | threads | MAP_POPULATE | register GB/s | us a call | register CPU s | unregister GB/s | unregister CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for p in probe:
        if p["probe"] == "register":
            print(f"| {p['piece'] >> 20} MiB | {p['threads']} | {'yes' if p['populate'] else 'no'} | {p['reg_gb_per_s']:.2f} | "
                  f"{p['reg_us_per_call']:.0f} | {p['reg_cpu_s']:.2f} | {p['unreg_gb_per_s']:.2f} | {p['unreg_cpu_s']:.2f} |")
    print("\n| copy to GPU memory from (copy engine; last: a GPU kernel, zero-copy) | bytes | one copy GB/s | 1 MiB copies GB/s |")
    print("|---|---|---|---|")
    for p in probe:
        if p["probe"] == "copy":
            c1m = p["chunks_1m_gb_per_s"]
            print(f"| {p['from']} | {p['bytes']} | {p['whole_gb_per_s']:.2f} | {'-' if c1m is None else f'{c1m:.2f}'} |")
    print()
print("## aisio fil run\n")
print("| case | GB/s min / med / max | files/s med | CPU cores med | CPU s/GB med | verify | served |")
print("|---|---|---|---|---|---|---|")
summary = {"ceiling_median": ceil_med, "aisio": {}, "kvikio": [], "regprobe": probe}


def nthreads(j):
    """Threads a run used: --pipe adds the releaser thread to --threads."""
    return j["threads"] + (1 if j.get("pipe") else 0)


def tlabel(j):
    return f"{nthreads(j)} threads" + (" incl. registrar + releaser" if j.get("pipe") else "")


for c, js in cases.items():
    g = mmm([j["gb_per_s"] for j in js])
    fps = statistics.median([j["files_per_s"] for j in js])
    cores = statistics.median([j["cpu_s"] / j["seconds"] for j in js])
    cpg = statistics.median([j["cpu_s_per_gb"] for j in js])
    ver = ",".join(sorted({j["verify"] for j in js}))
    served = "; ".join(f"{k} {v['reads']}" for k, v in js[0]["served"].items())
    print(f"| {c} (--path {js[0]['path']}, {tlabel(js[0])}, chunk {js[0]['chunk'] >> 10} KiB) | {g[0]:.2f} / {g[1]:.2f} / {g[2]:.2f} "
          f"| {fps:.0f} | {cores:.2f} | {cpg:.3f} | {ver} ({len(js)} rounds) | {served} |")
    summary["aisio"][c] = dict(gb=g, files_per_s=fps, cores=cores, cpu_s_per_gb=cpg, verify=ver, rounds=len(js))
print()
if kv:
    print("## kvikio (compat mode), same files\n")
    print("| case | threads | chunk | GB/s min / med / max | files/s med | verified |")
    print("|---|---|---|---|---|---|")
    for k in kv:
        print(f"| {k['case']} | {k['threads']} | {k.get('chunk', k.get('file_size', 0)) >> 10} KiB | "
              f"{k['min']:.2f} / {k['median']:.2f} / {k['max']:.2f} | {k['fps_median']} | {k['verified']} |")
    summary["kvikio"] = kv
elif any(j[0]["path"] == "gpu" for j in cases.values()):
    print("## kvikio\n\nnot measured (see kvikio-missing.txt or the log)")
print()


def kv_best(pred, key="median"):
    xs = [k for k in kv if pred(k)]
    return max(xs, key=lambda k: k[key]) if xs else None


if ceil or kv:
    print("## Issue 14 targets\n")
big = {c: v for c, v in summary["aisio"].items() if c.startswith("big-")}
b4 = {c: v for c, v in big.items() if nthreads(cases[c][0]) <= 4}
if b4 and ceil:
    best = max(b4, key=lambda c: b4[c]["gb"][1])
    b = big[best]
    print(f"- Large file: best {best} {b['gb'][1]:.2f} GB/s median = {b['gb'][1] / ceil_med:.3f} of the "
          f"ceiling {ceil_med:.2f} (target >= 0.95) with {b['cores']:.2f} CPU cores (target <= 4)")
k1 = kv_best(lambda k: k["case"].startswith("big pread") and k.get("chunk") == 1 << 20)
c1 = {c: cases[c] for c in big if cases[c][0]["chunk"] == 1 << 20}
if k1 and c1:
    best = max(c1, key=lambda c: big[c]["gb"][1])
    b = big[best]
    print(f"- 1 MiB chunks: {best} ({tlabel(cases[best][0])}, {b['cores']:.2f} cores) {b['gb'][1]:.2f} GB/s "
          f"vs best kvikio {k1['median']:.2f} ({k1['threads']} threads) = {b['gb'][1] / k1['median']:.2f}x (target >= 1.5x)")
ks = kv_best(lambda k: k["case"].startswith("small"), "fps_median")
sm = {c: v for c, v in summary["aisio"].items() if c.startswith("small-")}
if ks and sm:
    best = max(sm, key=lambda c: sm[c]["files_per_s"])
    print(f"- 128 KiB files: {best} ({cases[best][0]['threads']} threads, {sm[best]['cores']:.2f} cores) "
          f"{sm[best]['files_per_s']:.0f} files/s vs best kvikio {ks['fps_median']} files/s ({ks['threads']} threads) "
          f"= {sm[best]['files_per_s'] / ks['fps_median']:.2f}x (target >= 1.5x)")
pp = {c: v for c, v in big.items() if cases[c][0].get("pipe")}
if pp and ceil:
    best = max(pp, key=lambda c: pp[c]["gb"][1])
    print(f"- --pipe (registration, copy and unregistration overlapped): best {best} ({tlabel(cases[best][0])}, "
          f"{pp[best]['cores']:.2f} cores) {pp[best]['gb'][1]:.2f} GB/s = {pp[best]['gb'][1] / ceil_med:.3f} of the ceiling")
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
