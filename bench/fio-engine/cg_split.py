#!/usr/bin/env python3
"""Instructions per I/O of the submitting thread, split by who runs them.

    cg_split.py NIOS CALLGRIND_FILE...

The files are one callgrind run with --separate-threads=yes. The thread that
submits is the one that runs fio's td_io_queue() or aisio perf's worker()
(the largest such, when there are several). Its exclusive
instruction counts (Ir) are grouped: the program (fio's framework or aisio
perf's loop), the engine's glue (fio/aisio_engine.c), libaisio (queue, ring,
driver; linked into the engine), the C library, the device model and the
rest. Prints one JSON object: total and parts, each in Ir per I/O.

Waiting is counted apart: a reap that finds nothing (aisio_queue_reap's
instructions outside reap_some, which runs only when a completion is there)
and sched_yield(). Both sides poll alike, and how often a poll comes up empty
depends on how the threads interleave, not on either program; "work" is the
total less that. The loop around an empty poll stays in work (some 20
instructions per empty poll on either side); empty_polls says how many there
were per I/O.
"""
import json
import os
import re
import subprocess
import sys

LINE = re.compile(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S+?):(\S+)(?:\s+\[(.*)\])?\s*$")


def part(file, obj):
    if file.endswith("fio/aisio_engine.c"):
        return "engine"
    if "/tools/aisio/" in file:
        return "program"
    if "/src/emu/" in file:
        return "model"
    if "/src/" in file or "/include/aisio/" in file:
        return "libaisio"
    if obj.endswith("libaisio-fio.so") or "libaisio.so" in obj:
        return "libaisio"
    if obj.endswith("/fio") or obj.endswith("/aisio"):
        return "program"
    if "libc.so" in obj or "ld-linux" in obj or "vdso" in obj:
        return "libc"
    return "other"


def annotate(path, inclusive):
    # A file with no cost at all (callgrind's base file beside the
    # per-thread ones) makes callgrind_annotate fail: nothing in it.
    res = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
                          "--threshold=100", "--auto=no", path], capture_output=True, text=True, cwd="/")
    return res.stdout if res.returncode == 0 else ""


def waiting(path):
    """Ir of empty reaps and yields: inclusive cost, summed over inlined pieces."""
    incl = {}
    body = False
    for line in annotate(path, True).splitlines():
        if "file:function" in line:
            body = True
            continue
        m = LINE.match(line) if body else None
        if m and m.group(3) in ("aisio_queue_reap", "reap_some", "sched_yield"):
            incl[m.group(3)] = incl.get(m.group(3), 0) + int(m.group(1).replace(",", ""))
    return incl.get("aisio_queue_reap", 0) - incl.get("reap_some", 0) + incl.get("sched_yield", 0)


CALLER = re.compile(r"\s*[\d,]+\s+(?:\(\s*[\d.]+%\)\s+)?<\s+\S+ \(([\d,]+)x\)")
CALLEE = re.compile(r"\s*[\d,]+\s+(?:\(\s*[\d.]+%\)\s+)?\*\s+\S+?:(\S+)")


def empty_polls(path):
    """Calls of aisio_queue_reap less those that reached reap_some (which
    runs only when a completion is there)."""
    res = subprocess.run(["callgrind_annotate", "--tree=caller", "--threshold=100", "--auto=no", path],
                         capture_output=True, text=True, cwd="/")
    calls = {}
    pending = 0
    for line in res.stdout.splitlines():
        m = CALLER.match(line)
        if m:
            pending += int(m.group(1).replace(",", ""))
            continue
        m = CALLEE.match(line)
        if m:
            calls[m.group(1)] = calls.get(m.group(1), 0) + pending
        pending = 0
    return calls.get("aisio_queue_reap", 0) - calls.get("reap_some", 0)


def split(path):
    out = annotate(path, False)
    parts = {}
    body = False
    obj = ""
    submits = False
    for line in out.splitlines():
        if "file:function" in line:
            body = True
            continue
        m = LINE.match(line) if body else None
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        if m.group(3) == "td_io_queue" or (m.group(3) == "worker" and m.group(2).endswith("perf_run.c")):
            submits = True
        # Inlined code is listed without its object: it is the one above.
        obj = m.group(4) or obj
        p = part(m.group(2), obj)
        parts[p] = parts.get(p, 0) + ir
    return parts if submits else {}


def main():
    nios = int(sys.argv[1])
    best = None
    for path in sys.argv[2:]:
        parts = split(path)
        total = sum(parts.values())
        if not total:
            continue
        if best is None or total > best[1]:
            best = (path, total, parts)
    if best is None:
        sys.exit("cg_split.py: no submitting thread in " + " ".join(sys.argv[2:]))
    path, total, parts = best
    wait = waiting(path)
    empty = empty_polls(path)
    print(json.dumps({"thread": os.path.basename(path), "ios": nios, "total": round(total / nios, 1),
                      "waiting": round(wait / nios, 1), "work": round((total - wait) / nios, 1), "empty_polls": round(empty / nios, 2),
                      "parts": {k: round(v / nios, 1) for k, v in sorted(parts.items(), key=lambda x: -x[1])}}))


if __name__ == "__main__":
    main()
