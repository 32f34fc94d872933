#!/usr/bin/env python3
"""Fill a mounted file system with NFILES files in directories of 1000.

  populate.py MOUNT NFILES

Every 16th file gets 4 KiB of data, every 64th is fragmented (fallocate then
a punched hole), the rest are empty: an index has to map every file, and the
extents of some.
"""
import ctypes
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def main():
    m, n = sys.argv[1], int(sys.argv[2])
    data = b"x" * 4096
    for i in range(n):
        d = f"{m}/d{i // 1000:04d}"
        if i % 1000 == 0:
            os.mkdir(d)
        fd = os.open(f"{d}/file-{i:07d}", os.O_CREAT | os.O_WRONLY, 0o644)
        if i % 64 == 0:
            libc.fallocate(fd, 0, 0, 65536)
            libc.fallocate(fd, 3, 16384, 8192)  # punch hole, keep size
        elif i % 16 == 0:
            os.write(fd, data)
        os.close(fd)


if __name__ == "__main__":
    main()
