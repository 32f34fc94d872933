#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Read a pattern dataset into numpy arrays with aisio futures, in batches, and
verify every byte. Runs in CI (tests/python/run.sh).

    examples/numpy_dataset.py --root DIR [--make N --size 1M] [--batch 8] [--xfs-image IMG]

--make N writes N files into DIR first when it holds none. --xfs-image puts
them into an XFS image (mkfs.xfs -p) and reads them through their extents on
the device model (Device.open_file(..., image=True)) instead of the kernel.
"""
import argparse
import os
import sys
import time

import numpy as np

import aisio
import dataset_files


class FileDataset:
    """Sample i: the whole of file i as a uint8 array."""

    def __init__(self, root, dev=None):
        self.root = root
        self.files = dataset_files.listing(root)
        self.dev = dev  # an aisio.Device holding root's files in its XFS, or None: the kernel

    def __len__(self):
        return len(self.files)

    def start(self, i):
        """Begin reading sample i; returns (name, array, future)."""
        rel, size = self.files[i]
        arr = np.empty(size, np.uint8)
        if self.dev is not None:
            f = self.dev.open_file("/" + rel, image=True)  # the future keeps it open until it is done
            return rel, arr, f.pread(arr)
        with aisio.File(os.path.join(self.root, rel)) as f:
            return rel, arr, f.pread(arr)  # the future keeps the file open until it is done


def batches(ds, batch):
    """Like a DataLoader: every read of a batch is in flight at once."""
    for first in range(0, len(ds), batch):
        pending = [ds.start(i) for i in range(first, min(first + batch, len(ds)))]
        out = []
        for rel, arr, fut in pending:
            n = fut.get()
            if n != len(arr):
                raise RuntimeError(f"{rel}: read {n} of {len(arr)} bytes")
            if ds.dev is not None and fut.served != "extent":
                raise RuntimeError(f"{rel}: served by {fut.served}, not the extents: {fut.reason}")
            out.append((rel, arr))
        yield out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--make", type=int, default=0, help="write this many files first when root has none")
    ap.add_argument("--size", default="1M", help="size of the files --make writes")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--xfs-image", help="put root's files into this XFS image and read them through "
                    "their extents on the device model (DeviceFile)")
    a = ap.parse_args()
    os.makedirs(a.root, exist_ok=True)
    if a.make and not dataset_files.listing(a.root):
        dataset_files.make(a.root, a.make, dataset_files.parse_size(a.size))
    dev = aisio.open(dataset_files.xfs_image(a.root, a.xfs_image)) if a.xfs_image else None
    ds = FileDataset(a.root, dev)
    if not len(ds):
        print(f"numpy_dataset: no files under {a.root} (--make N writes some)", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    nbytes = nfiles = 0
    for b in batches(ds, a.batch):
        for rel, arr in b:
            bad = aisio.pattern_check(arr, rel, 0)
            if bad != len(arr):
                print(f"numpy_dataset: {rel}: byte {bad} differs from the dataset pattern", file=sys.stderr)
                return 1
            nbytes += len(arr)
            nfiles += 1
    dt = time.monotonic() - t0
    how = " through their extents" if dev is not None else ""
    print(f"numpy_dataset: {nfiles} files, {nbytes} bytes read{how} and verified in {dt:.3f} s "
          f"({nbytes / dt / 2**20:.1f} MiB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
