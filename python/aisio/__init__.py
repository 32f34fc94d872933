# SPDX-License-Identifier: MIT
"""aisio: NVMe storage from Python, for host and GPU memory.

    import aisio, numpy as np
    with aisio.open("emu:64M") as dev:             # any aisio URI
        buf = np.empty(8 * dev.lba_size, np.uint8)
        dev.read(0, buf)                            # blocking, GIL released
        with dev.batch(depth=256) as b:             # prepare many, submit once, wait for N
            b.read_many(np.arange(256, dtype=np.uint64), dev.alloc(256 * 4096), 4096)
            b.submit()
            b.wait()
    with aisio.File("data/x.bin") as f:
        fut = f.pread(buf, file_offset=0)           # aisio.Future: .done(), .get()
        n = fut.get()
    with aisio.open("homi:/run/homid.sock") as dev, dev.open_file("/mnt/x.bin", queues=8) as f:
        futs = [f.pread(b, file_offset=o) for b, o in work]   # all in flight, through the extents
        print(futs[0].get(), futs[0].served)        # 'extent', or 'kernel' and futs[0].reason

Buffers: anything with the buffer protocol (bytearray, numpy, aisio.Buffer)
for host memory; objects with __cuda_array_interface__ or __dlpack__ (torch,
cupy) for GPU memory. Errors raise aisio.Error (an OSError) with the
library's message. See docs/python.md.
"""
from ._aisio import (  # noqa: F401
    Batch,
    Buffer,
    Device,
    DeviceFile,
    Error,
    File,
    Future,
    open,
    pattern_check,
    pattern_fill,
    pattern_seed,
    status_str,
)

__all__ = [
    "Batch", "Buffer", "Device", "DeviceFile", "Error", "File", "Future", "open",
    "pattern_check", "pattern_fill", "pattern_seed", "pattern_verify", "status_str",
]


def pattern_verify(buf, name, offset=0):
    """Raise ValueError unless buf holds the bytes of dataset file `name` from `offset`.

    buf is host memory (anything with the buffer protocol); for a GPU tensor,
    copy it to the host first (tensor.cpu().numpy()).
    """
    n = len(memoryview(buf).cast("B"))
    bad = pattern_check(buf, name, offset)
    if bad != n:
        raise ValueError(f"{name}: byte at offset {offset + bad} differs from the dataset pattern "
                         f"({n} bytes checked from offset {offset})")
