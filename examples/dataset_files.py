# SPDX-License-Identifier: MIT
"""A dataset of files whose content is the aisio pattern (include/aisio/pattern.h):
the bytes of the file at relative path NAME are a function of (NAME, offset), so
every sample can be checked wherever it lands. Shared by numpy_dataset.py and
torch_dataset.py; make() writes a small one (what `aisio fil gen` makes at scale)."""
import os

import aisio


def parse_size(s):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    s = str(s).strip().lower()
    return int(s[:-1]) * mult[s[-1]] if s and s[-1] in mult else int(s)


def make(root, nfiles, size):
    """Write nfiles files of about size bytes (sizes vary, most not a multiple of 4 KiB)."""
    import numpy as np
    for i in range(nfiles):
        rel = f"shard{i // 8:02d}/sample{i:05d}.bin"
        n = max(1, size - (i * 7919) % max(1, size // 2))
        buf = np.empty(n, np.uint8)
        aisio.pattern_fill(buf, rel, 0)
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with aisio.File(path, "w") as f:
            f.pwrite(buf).get()


def listing(root):
    """(relative path with '/', size) of every regular file under root, sorted."""
    out = []
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root).replace(os.sep, "/")
            out.append((rel, os.path.getsize(p)))
    return sorted(out)


def xfs_image(root, img, size="256M"):
    """An XFS image (mkfs.xfs -p, no mount, no root needed) holding root's files at the same
    relative paths, for reading them through their extents on the device model:
    aisio.open(f"emu:{size},file={img}").open_file("/" + rel, image=True)."""
    import shutil
    import subprocess
    mkfs = shutil.which("mkfs.xfs") or "/usr/sbin/mkfs.xfs"
    lines = ["/", "0 0", "d--755 0 0"]

    def walk(d):
        for e in sorted(os.scandir(d), key=lambda e: e.name):
            if e.is_dir(follow_symlinks=False):
                lines.append(f"{e.name} d--755 0 0")
                walk(e.path)
                lines.append("$")
            elif e.is_file(follow_symlinks=False):
                lines.append(f"{e.name} ---644 0 0 {os.path.abspath(e.path)}")
    walk(root)
    lines.append("$")
    proto = img + ".proto"
    with open(proto, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(img, "wb") as f:
        f.truncate(parse_size(size))
    env = dict(os.environ, TEST_DIR="1", TEST_DEV="1", QA_CHECK_FS="1")  # small file systems allowed
    subprocess.run([mkfs, "-q", "-f", "-p", proto, img], check=True, env=env)
    os.unlink(proto)
    return f"emu:{size},file={img}"
