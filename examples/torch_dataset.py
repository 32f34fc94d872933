#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A PyTorch Dataset and DataLoader that read a pattern dataset (files whose
content is include/aisio/pattern.h, as `aisio fil gen` makes) straight into
GPU tensors with aisio, and verify every byte.

    examples/torch_dataset.py --root DIR [--make N --size 4M] [--batch 8] [--device cuda:0]
        [--xfs-image IMG]

aisio takes the CUDA tensor through __cuda_array_interface__: File.pread
reads into host memory and the CUDA driver copies to the tensor; no torch
copy is involved. With --xfs-image the files are put into an XFS image
(mkfs.xfs -p) and read through their extents on the device model
(Device.open_file(..., image=True): NVMe reads on lanes of their own, then
the CUDA copy); every Future must say it was served by 'extent'. Verification copies each tensor back to the host and
compares it with the pattern. The DataLoader runs with num_workers=0: CUDA
tensors are not made in forked workers; parallelism comes from the futures of
a batch, which are all in flight at once.
"""
import argparse
import os
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset

import aisio
import dataset_files


class AisioFileDataset(Dataset):
    """Sample i: file i as a uint8 tensor on `device`, with its relative path."""

    def __init__(self, root, device, dev=None):
        self.root = root
        self.device = torch.device(device)
        self.files = dataset_files.listing(root)
        self.dev = dev  # an aisio.Device holding root's files in its XFS, or None: the kernel

    def __len__(self):
        return len(self.files)

    def start(self, i):
        rel, size = self.files[i]
        t = torch.empty(size, dtype=torch.uint8, device=self.device)
        if self.dev is not None:
            f = self.dev.open_file("/" + rel, image=True)  # the Future keeps it open until done
            return rel, t, f.pread(t)
        with aisio.File(os.path.join(self.root, rel)) as f:
            return rel, t, f.pread(t)

    def __getitem__(self, i):
        rel, t, fut = self.start(i)
        fut.get()
        return rel, t


class BatchSampler:
    """Indices of a batch; the collate function reads them all at once."""

    def __init__(self, n, batch):
        self.n, self.batch = n, batch

    def __iter__(self):
        for first in range(0, self.n, self.batch):
            yield list(range(first, min(first + self.batch, self.n)))

    def __len__(self):
        return (self.n + self.batch - 1) // self.batch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--make", type=int, default=0, help="write this many files first when root has none")
    ap.add_argument("--size", default="4M", help="size of the files --make writes")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--xfs-image", help="put root's files into this XFS image and read them through "
                    "their extents on the device model (DeviceFile)")
    a = ap.parse_args()
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("torch_dataset: torch sees no CUDA device", file=sys.stderr)
        return 1
    os.makedirs(a.root, exist_ok=True)
    if a.make and not dataset_files.listing(a.root):
        dataset_files.make(a.root, a.make, dataset_files.parse_size(a.size))
    dev = None
    if a.xfs_image:
        dev = aisio.open(dataset_files.xfs_image(a.root, a.xfs_image))
    ds = AisioFileDataset(a.root, a.device, dev)
    if not len(ds):
        print(f"torch_dataset: no files under {a.root} (--make N writes some)", file=sys.stderr)
        return 1

    def read_batch(indices):  # every read of the batch in flight at once
        out = []
        for rel, t, fut in [ds.start(i) for i in indices]:
            n = fut.get()
            if n != t.numel():
                raise RuntimeError(f"{rel}: read {n} of {t.numel()} bytes")
            if dev is not None and fut.served != "extent":
                raise RuntimeError(f"{rel}: served by {fut.served}, not the extents: {fut.reason}")
            out.append((rel, t))
        return out

    loader = DataLoader(range(len(ds)), batch_sampler=BatchSampler(len(ds), a.batch),
                        collate_fn=read_batch, num_workers=0)
    t0 = time.monotonic()
    nbytes = nfiles = 0
    for batch in loader:
        torch.cuda.synchronize()
        for rel, t in batch:
            assert t.device == ds.device, t.device
            host = t.cpu().numpy()
            bad = aisio.pattern_check(host, rel, 0)
            if bad != len(host):
                print(f"torch_dataset: {rel}: byte {bad} differs from the dataset pattern", file=sys.stderr)
                return 1
            nbytes += t.numel()
            nfiles += 1
    dt = time.monotonic() - t0
    # Through the plain Dataset interface too (one sample, as a DataLoader with batch_size=None would).
    rel, t = ds[0]
    if aisio.pattern_check(t.cpu().numpy(), rel, 0) != t.numel():
        print(f"torch_dataset: {rel}: differs through Dataset.__getitem__", file=sys.stderr)
        return 1
    how = "through their extents (DeviceFile)" if dev is not None else "through the kernel (File)"
    print(f"torch_dataset: {nfiles} files, {nbytes} bytes read {how} into {ds.device} and verified in {dt:.3f} s "
          f"({nbytes / dt / 2**20:.1f} MiB/s, verification included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
