#!/usr/bin/env python3
"""kvikio, the peer, on the datasets of aisio fil gen (same files, same run).

  kvikio_fil.py big DIR     the one file of a checkpoint dataset (8 GiB), read into one
                            GPU buffer with CuFile.pread per chunk (1 MiB, 16 MiB) and
                            as one pread with task_size=16 MiB; 4 and 16 threads
  kvikio_fil.py small DIR   every file of a dataset (20,000 x 128 KiB) into GPU memory,
                            CuFile + pread in windows of 256 open files; 4 and 16 threads

kvikio runs in compat mode (POSIX reads into its bounce buffers, then copies), the only
mode on a host without GDS. After each timed read the bytes in GPU memory are checked
against the dataset pattern (include/aisio/pattern.h) on the GPU with cupy: all of the
big file, and 64 whole files of the small set. One JSON line per case is appended to
$OUT/kvikio.jsonl: runs in GB/s (decimal), files/s, min/median/max, verified.
"""
import json
import os
import statistics
import sys
import time

import cupy as cp
import kvikio
import kvikio.defaults

OUT = os.environ.get("OUT", "/tmp")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
MiB = 1 << 20
M64 = (1 << 64) - 1


def seed_of(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def expected_words(seed, k0, n):
    """pattern.h words k0 .. k0+n-1 on the GPU (uint64 arithmetic wraps)."""
    z = cp.arange(k0, k0 + n, dtype=cp.uint64) ^ cp.uint64(seed)
    z += cp.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> cp.uint64(30))) * cp.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> cp.uint64(27))) * cp.uint64(0x94D049BB133111EB)
    return z ^ (z >> cp.uint64(31))


def check(gbuf, seed, size):
    """Every byte of a file of @size bytes at the start of uint8 array @gbuf."""
    step = 32 * MiB
    for off in range(0, size, step):
        n = min(step, size - off)
        nw = n // 8
        got = gbuf[off:off + nw * 8].view(cp.uint64)
        if not bool(cp.all(got == expected_words(seed, off // 8, nw))):
            return False
        if n % 8:
            tail = expected_words(seed, (off + nw * 8) // 8, 1).view(cp.uint8)[: n % 8]
            if not bool(cp.all(gbuf[off + nw * 8:off + n] == tail)):
                return False
    return True


def manifest(d):
    with open(os.path.join(d, ".aisio-fil")) as f:
        lines = f.read().splitlines()
    assert lines[0] == "aisio-fil 1", f"{d} is not a fil dataset"
    return [(int(l.split(" ", 1)[0]), l.split(" ", 1)[1]) for l in lines[5:]]


def record(case, threads, secs, nbytes, nfiles, ok, **extra):
    gbs = [nbytes / s / 1e9 for s in secs]
    fps = [nfiles / s for s in secs]
    rec = dict(tool="kvikio " + kvikio.__version__, case=case, threads=threads, bytes=nbytes, files=nfiles,
               runs=[round(x, 3) for x in gbs], files_per_s=[round(x) for x in fps],
               min=round(min(gbs), 3), median=round(statistics.median(gbs), 3), max=round(max(gbs), 3),
               fps_median=round(statistics.median(fps)), verified=ok, compat_mode="ON")
    rec.update(extra)
    with open(os.path.join(OUT, "kvikio.jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")
    print("RESULT", json.dumps(rec), flush=True)


def big(d):
    (size, name), = manifest(d)
    path = os.path.join(d, name)
    gpu = cp.empty(size, dtype=cp.uint8)
    seed = seed_of(name)
    for threads in (4, 16):
        kvikio.defaults.set("num_threads", threads)
        for chunk in (1 * MiB, 16 * MiB):
            secs, ok = [], True
            for _ in range(ROUNDS):
                gpu.fill(0)
                cp.cuda.Device().synchronize()
                with kvikio.CuFile(path, "r") as f:
                    t0 = time.perf_counter()
                    futs = [f.pread(gpu[o:o + chunk], min(chunk, size - o), o) for o in range(0, size, chunk)]
                    n = sum(x.get() for x in futs)
                    cp.cuda.Device().synchronize()
                    secs.append(time.perf_counter() - t0)
                assert n == size, n
                ok &= check(gpu, seed, size)
            record(f"big pread per chunk", threads, secs, size, 1, ok, chunk=chunk)
    kvikio.defaults.set("num_threads", 16)
    secs, ok = [], True
    for _ in range(ROUNDS):
        gpu.fill(0)
        cp.cuda.Device().synchronize()
        with kvikio.CuFile(path, "r") as f:
            t0 = time.perf_counter()
            n = f.pread(gpu, size, 0, task_size=16 * MiB).get()
            cp.cuda.Device().synchronize()
            secs.append(time.perf_counter() - t0)
        assert n == size
        ok &= check(gpu, seed, size)
    record("big one pread, task_size 16 MiB", 16, secs, size, 1, ok, chunk=16 * MiB)


def small(d):
    files = manifest(d)
    sizes = {s for s, _ in files}
    assert len(sizes) == 1, "the small-file case wants files of one size (fil gen --size)"
    fsize = sizes.pop()
    paths = [os.path.join(d, p) for _, p in files]
    g = cp.empty((len(files), fsize), dtype=cp.uint8)
    W = 256
    sample = sorted({(i * 7919) % len(files) for i in range(64)})
    for threads in (4, 16):
        kvikio.defaults.set("num_threads", threads)
        secs, ok = [], True
        for _ in range(ROUNDS):
            g.fill(0)
            cp.cuda.Device().synchronize()
            t0 = time.perf_counter()
            for s in range(0, len(paths), W):
                hs = [kvikio.CuFile(paths[i], "r") for i in range(s, min(s + W, len(paths)))]
                futs = [h.pread(g[s + j], fsize, 0) for j, h in enumerate(hs)]
                for x in futs:
                    x.get()
                for h in hs:
                    h.close()
            cp.cuda.Device().synchronize()
            secs.append(time.perf_counter() - t0)
            ok &= all(check(g[i], seed_of(files[i][1]), fsize) for i in sample)
        record("small files, CuFile + pread, window 256", threads, secs, fsize * len(files), len(files), ok,
               file_size=fsize)


if __name__ == "__main__":
    {"big": big, "small": small}[sys.argv[1]](sys.argv[2])
