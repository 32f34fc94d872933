# SPDX-License-Identifier: MIT
"""Device.open_file: files of an unmounted XFS image (mkfs.xfs -p) on the
device model, read through their extents (image=True) and checked against
the dataset pattern; bad paths raise aisio.Error with the library's words."""
import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

import aisio
from helpers import ref_bytes

# name -> size: one byte, an odd tail, several blocks, a few MiB
FILES = {"a.bin": 1, "b.bin": 5000, "sub/c.bin": 65536 * 3 + 17, "sub/d.bin": (3 << 20) + 123}


def make_image(work):
    mkfs = shutil.which("mkfs.xfs") or "/usr/sbin/mkfs.xfs"
    if not os.access(mkfs, os.X_OK):
        if os.environ.get("CI") == "true":
            raise AssertionError("mkfs.xfs (xfsprogs) is required under CI=true")
        raise unittest.SkipTest("mkfs.xfs (xfsprogs) not installed")
    src = os.path.join(work, "src")
    os.makedirs(os.path.join(src, "sub"))
    for name, size in FILES.items():
        buf = bytearray(size)
        aisio.pattern_fill(buf, "/" + name)
        with open(os.path.join(src, name), "wb") as f:
            f.write(buf)
    proto = os.path.join(work, "proto")
    lines = ["/", "0 0", "d--755 0 0"]
    for name in ("a.bin", "b.bin"):
        lines.append(f"{name} ---644 0 0 {os.path.join(src, name)}")
    lines.append("sub d--755 0 0")
    for name in ("c.bin", "d.bin"):
        lines.append(f"{name} ---644 0 0 {os.path.join(src, 'sub', name)}")
    lines += ["$", "$"]
    with open(proto, "w") as f:
        f.write("\n".join(lines) + "\n")
    img = os.path.join(work, "img")
    with open(img, "wb") as f:
        f.truncate(128 << 20)
    env = dict(os.environ, TEST_DIR="1", TEST_DEV="1", QA_CHECK_FS="1")
    subprocess.run([mkfs, "-q", "-f", "-p", proto, img], check=True, env=env)
    return img


class DeviceFileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="aisio-devfile-")
        cls.img = make_image(cls.work)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def md5(self):
        with open(self.img, "rb") as f:
            return hashlib.md5(f.read()).hexdigest()

    def test_read_every_file_through_extents(self):
        before = self.md5()
        with aisio.open(f"emu:128M,file={self.img}") as dev:
            for name, size in FILES.items():
                with dev.open_file("/" + name, image=True) as f:
                    self.assertEqual(f.size(), size)
                    buf = bytearray(size + 100)  # asks past the end: gets size
                    fu = f.pread(buf)
                    self.assertIsInstance(fu, aisio.Future)
                    self.assertTrue(fu.done())
                    self.assertEqual(fu.get(), size, name)
                    self.assertEqual(f.last_served, "extent", f"{name}: {f.last_reason}")
                    self.assertEqual(f.last_reason, "")
                    self.assertGreater(f.last_cmds, 0)
                    self.assertEqual(bytes(buf[:min(size, 4096)]), ref_bytes("/" + name, 0, min(size, 4096)))
                    ref = bytearray(size)
                    aisio.pattern_fill(ref, "/" + name)
                    self.assertEqual(buf[:size], ref, name)
                    # an unaligned piece in the middle
                    if size > 9000:
                        piece = bytearray(3001)
                        self.assertEqual(f.pread(piece, 3001, 4097).get(), 3001)
                        self.assertEqual(bytes(piece), bytes(ref[4097:4097 + 3001]))
                    # at the end: 0 bytes, nothing served
                    self.assertEqual(f.read(bytearray(10), file_offset=size), 0)
        self.assertEqual(self.md5(), before, "reading changed the image")

    def test_bad_paths_raise(self):
        with aisio.open(f"emu:128M,file={self.img}") as dev:
            with self.assertRaises(aisio.Error) as cm:
                dev.open_file("/missing.bin", image=True)
            self.assertIn("missing.bin", str(cm.exception))
            self.assertEqual(cm.exception.errno, 2)
            with self.assertRaises(aisio.Error) as cm:
                dev.open_file("/sub", image=True)
            self.assertIn("sub", str(cm.exception))
            self.assertEqual(cm.exception.errno, 21)
            # a mounted path needs a homi: device: refused, saying so
            with self.assertRaises(aisio.Error) as cm:
                dev.open_file("/a.bin")
            self.assertIn("homi:", str(cm.exception))
            f = dev.open_file("/a.bin", image=True)
            f.close()
            with self.assertRaises(ValueError):
                f.pread(bytearray(1))
            with self.assertRaises(ValueError):
                dev.open_file("/a.bin", image=True).pread(bytearray(1), file_offset=-1)


if __name__ == "__main__":
    unittest.main()
