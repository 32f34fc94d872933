#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Random reads through aisio.Batch: prepare BATCH commands with read_many,
submit once, wait for all, repeat for RUNTIME seconds. Prints one JSON line.

    bench.py [--uri emu:1G,null] [--batch 256] [--iosize 4096] [--runtime 3] [--buffer dma|numpy]

--buffer dma: the batch reads into Device.alloc() memory (no copy);
numpy: into a numpy array (DMA bounce buffers and a copy per command).
"""
import argparse
import json
import time

import numpy as np

import aisio


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", default="emu:1G,null")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--iosize", type=int, default=4096)
    ap.add_argument("--runtime", type=float, default=3.0)
    ap.add_argument("--buffer", choices=("dma", "numpy"), default="dma")
    a = ap.parse_args()
    with aisio.open(a.uri) as dev, dev.batch(depth=a.batch) as b:
        nlb = a.iosize // dev.lba_size
        slots = dev.nlbas // nlb
        rng = np.random.default_rng(1)
        lbas = rng.integers(0, slots, size=a.batch * 1024, dtype=np.uint64) * np.uint64(nlb)
        buf = dev.alloc(a.batch * a.iosize) if a.buffer == "dma" else np.empty(a.batch * a.iosize, np.uint8)
        nwin = len(lbas) // a.batch
        ios = 0
        k = 0
        t0 = time.perf_counter()
        end = t0 + a.runtime
        while True:
            w = lbas[k * a.batch:(k + 1) * a.batch]
            k = k + 1 if k + 1 < nwin else 0
            b.read_many(w, buf, a.iosize)
            b.submit()
            ios += len(b.wait())
            if (k & 15) == 0 and time.perf_counter() >= end:
                break
        dt = time.perf_counter() - t0
        del buf
    print(json.dumps({"uri": a.uri, "batch": a.batch, "iosize": a.iosize, "buffer": a.buffer,
                      "seconds": dt, "ios": ios, "iops": ios / dt}))


if __name__ == "__main__":
    main()
