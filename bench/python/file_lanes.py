#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads of one file in flight at once through DeviceFile lanes.

A file of an XFS image (mkfs.xfs -p) on the device model, which completes
each command LATENCY_US after it arrives (emu:...,latency_us=): N reads of
SIZE bytes at random offsets are queued at once (pread) and waited for;
with one lane they run one after another, with Q lanes up to Q at a time.
Reports min/median/max wall time of RUNS rounds per queues setting.

    PYTHONPATH=build/python bench/python/file_lanes.py [--reads 32] [--size 4096]
        [--latency-us 20000] [--queues 1,2,4,8] [--runs 5] [--out FILE.md]

Needs the package built in place (meson setup build -Dpython=yes) and mkfs.xfs.
"""
import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import aisio


def make_image(work, size):
    src = os.path.join(work, "f.bin")
    buf = bytearray(size)
    aisio.pattern_fill(buf, "/f.bin")
    with open(src, "wb") as f:
        f.write(buf)
    proto = os.path.join(work, "proto")
    with open(proto, "w") as f:
        f.write(f"/\n0 0\nd--755 0 0\nf.bin ---644 0 0 {src}\n$\n$\n")
    img = os.path.join(work, "img")
    with open(img, "wb") as f:
        f.truncate(128 << 20)
    env = dict(os.environ, TEST_DIR="1", TEST_DEV="1", QA_CHECK_FS="1")
    subprocess.run(["mkfs.xfs", "-q", "-f", "-p", proto, img], check=True, env=env)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reads", type=int, default=32)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--latency-us", type=int, default=20000)
    ap.add_argument("--queues", default="1,2,4,8")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    fsize = 16 << 20
    work = tempfile.mkdtemp(prefix="aisio-file-lanes-")
    try:
        img = make_image(work, fsize)
        rows = []
        rnd = random.Random(1)
        with aisio.open(f"emu:128M,file={img},latency_us={a.latency_us}") as dev:
            for q in [int(x) for x in a.queues.split(",")]:
                with dev.open_file("/f.bin", image=True, queues=q) as f:
                    times = []
                    for r in range(a.runs + 1):  # the first round starts the lanes: not counted
                        offs = [rnd.randrange(0, fsize - a.size) for _ in range(a.reads)]
                        bufs = [bytearray(a.size) for _ in offs]
                        t0 = time.monotonic()
                        futs = [f.pread(b, file_offset=o) for b, o in zip(bufs, offs)]
                        n = sum(fu.get() for fu in futs)
                        dt = time.monotonic() - t0
                        assert n == a.size * a.reads, n
                        for b, o in zip(bufs, offs):
                            assert aisio.pattern_check(b, "/f.bin", o) == a.size, o
                        if r:
                            times.append(dt)
                    rows.append((q, f.lanes, f.peak_inflight, min(times), statistics.median(times), max(times)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    serial = a.reads * a.latency_us / 1e6
    lines = [f"# DeviceFile lanes: {a.reads} reads of {a.size} B in flight on one file",
             "",
             f"Command: `PYTHONPATH=build/python {' '.join(sys.argv)}`  ",
             f"Machine: {platform.node()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end  ",
             f"Device: emu:128M,file=IMG,latency_us={a.latency_us} (image file read through its extents); "
             f"{a.runs} rounds each, one round before them not counted. One after another would take "
             f"at least {serial:.3f} s.",
             "",
             "| queues | lanes | peak in service | min s | median s | max s | reads/s (median) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for q, lanes, peak, lo, med, hi in rows:
        lines.append(f"| {q} | {lanes} | {peak} | {lo:.3f} | {med:.3f} | {hi:.3f} | {a.reads / med:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
