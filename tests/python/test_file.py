# SPDX-License-Identifier: MIT
"""aisio.File: pread/pwrite with futures; dataset patterns."""
import errno
import os
import tempfile
import unittest

import aisio
from helpers import need, ref_bytes, ref_seed

np = need("numpy")


class Pattern(unittest.TestCase):
    def test_matches_definition(self):
        for name, off, n in (("a", 0, 40), ("sub/dir/f.bin", 13, 29), ("é", 2**33 + 5, 17)):
            buf = bytearray(n)
            aisio.pattern_fill(buf, name, off)
            self.assertEqual(bytes(buf), ref_bytes(name, off, n))
            self.assertEqual(aisio.pattern_check(buf, name, off), n)
            self.assertEqual(aisio.pattern_seed(name), ref_seed(name.encode()))

    def test_check_finds_first_difference(self):
        buf = np.empty(100000, np.uint8)
        aisio.pattern_fill(buf, "f", 3)
        for bad in (0, 4, 5, 99999, 50001):
            c = buf.copy()
            c[bad] ^= 1
            self.assertEqual(aisio.pattern_check(c, "f", 3), bad)
            with self.assertRaises(ValueError):
                aisio.pattern_verify(c, "f", 3)
        aisio.pattern_verify(buf, "f", 3)
        self.assertEqual(aisio.pattern_check(buf, "g", 3), 0)  # another name: another content
        seed = aisio.pattern_seed("f")
        self.assertEqual(aisio.pattern_check(buf, seed, 3), len(buf))


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "f.bin")

    def tearDown(self):
        self.tmp.cleanup()

    def test_futures_roundtrip(self):
        n = 10 * 2**20 + 123  # three tasks of 4 MiB
        src = np.empty(n, np.uint8)
        aisio.pattern_fill(src, "f.bin", 0)
        with aisio.File(self.path, "w") as f:
            fut = f.pwrite(src)
            self.assertEqual(fut.get(), n)
            self.assertTrue(fut.done())
            self.assertEqual((fut.served, fut.reason, fut.cmds), ("kernel", "", 0))
            with self.assertRaises(RuntimeError):
                fut.get()
            self.assertEqual(f.size(), n)
        dst = np.zeros(n, np.uint8)
        with aisio.File(self.path) as f:
            futs = [f.pread(dst[i:i + 2**20], file_offset=i) for i in range(0, n, 2**20)]
            self.assertEqual(sum(x.get() for x in futs), n)
            self.assertEqual({x.served for x in futs}, {"kernel"})
        self.assertEqual(aisio.pattern_check(dst, "f.bin", 0), n)
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(64), ref_bytes("f.bin", 0, 64))

    def test_size_and_offset(self):
        with aisio.File(self.path, "w") as f:
            buf = bytearray(b"x" * 100)
            self.assertEqual(f.write(buf, size=10, file_offset=5), 10)
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), b"\0" * 5 + b"x" * 10)

    def test_short_read_at_end(self):
        with open(self.path, "wb") as f:
            f.write(b"abc")
        with aisio.File(self.path) as f:
            buf = bytearray(4096)
            self.assertEqual(f.pread(buf).get(), 3)
            self.assertEqual(bytes(buf[:3]), b"abc")
            self.assertEqual(f.pread(buf, file_offset=100).get(), 0)

    def test_errors(self):
        with self.assertRaises(aisio.Error) as cm:
            aisio.File(os.path.join(self.tmp.name, "missing"))
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertIn("missing", str(cm.exception))
        with open(self.path, "wb") as f:
            f.write(b"abc")
        with aisio.File(self.path) as f:
            with self.assertRaises(aisio.Error) as cm:
                f.pwrite(b"xyz")
            self.assertIn("read-only", str(cm.exception))
            with self.assertRaises(TypeError):
                f.pread(b"xyz")
            with self.assertRaises(ValueError):
                f.pread(bytearray(4), size=5)
            with self.assertRaises(ValueError):
                f.pread(bytearray(4), file_offset=-1)
        with self.assertRaises(ValueError):
            f.pread(bytearray(4))
        with self.assertRaises(ValueError):
            aisio.File(self.path, "rw")

    def test_error_from_the_io_threads(self):
        fifo = os.path.join(self.tmp.name, "fifo")
        os.mkfifo(fifo)
        fd = os.open(fifo, os.O_RDWR)  # keeps the open below from blocking
        try:
            with aisio.File(fifo) as f:
                fut = f.pread(bytearray(16))
                with self.assertRaises(aisio.Error) as cm:
                    fut.get()
                self.assertEqual(cm.exception.errno, errno.ESPIPE)
                self.assertIn("fifo: pread at offset 0", str(cm.exception))
                self.assertTrue(fut.done())
        finally:
            os.close(fd)

    def test_dropped_future_keeps_buffer(self):
        with aisio.File(self.path, "w") as f:
            f.write(bytearray(2**20))
        with aisio.File(self.path) as f:
            for _ in range(20):
                f.pread(bytearray(2**20))  # dropped at once: dealloc waits for the tasks


if __name__ == "__main__":
    unittest.main()
