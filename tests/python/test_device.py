# SPDX-License-Identifier: MIT
"""aisio.Device on the device model: geometry, blocking read/write, buffers, errors."""
import errno
import threading
import time
import unittest

import aisio
from helpers import need, ref_bytes

np = need("numpy")


class Geometry(unittest.TestCase):
    def test_emu_512(self):
        with aisio.open("emu:64M") as d:
            self.assertEqual(d.lba_size, 512)
            self.assertEqual(d.nlbas, 64 * 2**20 // 512)
            self.assertEqual(d.size, 64 * 2**20)
            self.assertEqual(d.nsid, 1)
            self.assertEqual(d.backend, "upci")
            self.assertEqual(d.uri, "emu:64M")
            self.assertGreater(d.max_qdepth, 1)
            self.assertIn("emu:64M", repr(d))
        self.assertTrue(d.closed)

    def test_emu_4k(self):
        with aisio.Device("emu:16M,lbads=12") as d:
            self.assertEqual(d.lba_size, 4096)
            self.assertEqual(d.nlbas, 4096)


class ReadWrite(unittest.TestCase):
    def setUp(self):
        self.d = aisio.open("emu:64M")

    def tearDown(self):
        self.d.close()

    def test_roundtrip_split_by_mdts(self):
        d = self.d
        n = 3 * 2**20 + 3 * d.lba_size  # more than one command (MDTS) and not a multiple of it
        src = np.empty(n, np.uint8)
        aisio.pattern_fill(src, "dir/file.bin", 4096)
        self.assertEqual(d.write(100, src), n)
        dst = bytearray(n)
        self.assertEqual(d.read(100, dst), n)
        self.assertEqual(aisio.pattern_check(dst, "dir/file.bin", 4096), n)
        self.assertEqual(bytes(dst[:64]), ref_bytes("dir/file.bin", 4096, 64))
        # what lies next to it was not touched
        z = bytearray(d.lba_size)
        d.read(99, z)
        self.assertEqual(z, bytearray(d.lba_size))

    def test_dma_buffer_and_views(self):
        d = self.d
        buf = d.alloc(64 * 1024)
        self.assertEqual(len(buf), 64 * 1024)
        a = np.frombuffer(buf, np.uint8)
        aisio.pattern_fill(a, "x", 0)
        d.write(0, buf)
        a[:] = 0
        view = memoryview(buf)[8192:16384]  # a slice of DMA memory: still no copy
        d.read(16, view)
        self.assertEqual(aisio.pattern_check(view, "x", 8192), 8192)
        self.assertEqual(aisio.pattern_check(a[:8192], "x", 0), 0)  # not read: still zero

    def test_dlpack_host_array(self):
        class OnlyDLPack:  # no buffer protocol: aisio goes through __dlpack__
            def __init__(self, arr):
                self.arr = arr

            def __dlpack__(self, stream=None):
                return self.arr.__dlpack__()

            def __dlpack_device__(self):
                return self.arr.__dlpack_device__()

        if not hasattr(np.empty(1), "__dlpack__"):
            self.skipTest("numpy without DLPack")
        src = np.empty(4096, np.uint8)
        aisio.pattern_fill(src, "dl", 0)
        self.d.write(8, OnlyDLPack(src))
        dst = np.zeros(1024, np.uint32)
        self.assertEqual(self.d.read(8, OnlyDLPack(dst)), 4096)
        self.assertEqual(aisio.pattern_check(dst, "dl", 0), 4096)


class KernelPath(unittest.TestCase):
    def test_file_uri(self):
        """The same calls on a file through the kernel (psync backend)."""
        import os
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            uri = f"file:{tmp}/img,size=16M"
            with self.assertRaises(aisio.Error):
                aisio.open(uri)  # missing, and not asked to create it
            with aisio.open(uri, create=True, backend="psync") as d:
                self.assertEqual(d.backend, "psync")
                self.assertEqual(d.size, 16 * 2**20)
                a = np.empty(3 * 2**20, np.uint8)
                aisio.pattern_fill(a, "img", 10 * d.lba_size)
                d.write(10, a)
                with d.batch(depth=64) as b:
                    m = d.alloc(64 * 4096)
                    b.read_many(np.arange(64, dtype=np.uint64) * 8 + 10, m, 4096)
                    b.submit()
                    self.assertEqual(len(b.wait()), 64)
                    self.assertEqual(aisio.pattern_check(m, "img", 10 * d.lba_size), len(m))
                with self.assertRaises(aisio.Error) as cm:
                    d.read(d.nlbas, bytearray(d.lba_size))
                self.assertIn("LBA Out of Range", str(cm.exception))
            with open(f"{tmp}/img", "rb") as f:
                f.seek(10 * 512)
                self.assertEqual(aisio.pattern_check(f.read(4096), "img", 10 * 512), 4096)
            self.assertEqual(os.path.getsize(f"{tmp}/img"), 16 * 2**20)


class Threads(unittest.TestCase):
    def test_threads_share_a_device(self):
        """Blocking calls from several threads on one device: each gets its own data back."""
        with aisio.open("emu:64M") as d:
            errors = []

            def work(k):
                try:
                    buf = np.empty(64 * 1024, np.uint8)
                    out = np.empty_like(buf)
                    for i in range(20):
                        lba = (k * 20 + i) * 128
                        aisio.pattern_fill(buf, f"t{k}", lba)
                        d.write(lba, buf)
                        d.read(lba, out)
                        if aisio.pattern_check(out, f"t{k}", lba) != len(out):
                            errors.append(f"thread {k}: LBA {lba} read back wrong data")
                except Exception as e:  # noqa: BLE001 (reported below)
                    errors.append(f"thread {k}: {e!r}")
            ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(errors, [])


class Errors(unittest.TestCase):
    def test_bad_uri(self):
        with self.assertRaises(aisio.Error) as cm:
            aisio.open("bogus:1")
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertIn("unknown URI scheme", str(cm.exception))
        self.assertIsInstance(cm.exception, OSError)

    def test_missing_file(self):
        with self.assertRaises(aisio.Error) as cm:
            aisio.open("file:/nonexistent/aisio-py-test")
        self.assertEqual(cm.exception.errno, errno.ENOENT)

    def test_out_of_range_lba(self):
        with aisio.open("emu:64M") as d:
            with self.assertRaises(aisio.Error) as cm:
                d.read(d.nlbas - 1, bytearray(2 * d.lba_size))
            self.assertEqual(cm.exception.status, 0x080)
            self.assertEqual(cm.exception.errno, errno.EIO)
            self.assertIn("LBA Out of Range", str(cm.exception))
            self.assertIn(aisio.status_str(0x080), str(cm.exception))
            # the device still works afterwards
            self.assertEqual(d.read(d.nlbas - 1, bytearray(d.lba_size)), d.lba_size)

    def test_short_buffer(self):
        with aisio.open("emu:64M") as d:
            for n in (0, 100, d.lba_size + 1):
                with self.assertRaises(ValueError) as cm:
                    d.read(0, bytearray(n))
                self.assertIn("512-byte LBAs", str(cm.exception))

    def test_read_only_buffer(self):
        with aisio.open("emu:64M") as d:
            with self.assertRaises(TypeError) as cm:
                d.read(0, bytes(512))
            self.assertIn("read-only", str(cm.exception))
            ro = np.zeros(512, np.uint8)
            ro.flags.writeable = False
            with self.assertRaises(TypeError):
                d.read(0, ro)
            self.assertEqual(d.write(0, bytes(512)), 512)  # writing from it is fine

    def test_not_a_buffer(self):
        with aisio.open("emu:64M") as d:
            with self.assertRaises(TypeError) as cm:
                d.read(0, 12)
            self.assertIn("not a buffer", str(cm.exception))

    def test_closed(self):
        d = aisio.open("emu:64M")
        d.close()
        with self.assertRaises(ValueError):
            d.read(0, bytearray(512))

    def test_close_with_live_buffer(self):
        d = aisio.open("emu:64M")
        b = d.alloc(4096)
        bt = d.batch(depth=4)
        d.close()
        self.assertTrue(d.closed)
        with self.assertRaises(ValueError):
            d.write(0, b)
        m = memoryview(b)
        m[0:3] = b"abc"  # the memory stays valid while the buffer lives
        self.assertEqual(bytes(m[0:3]), b"abc")
        m.release()
        del b, bt

    def test_gpu_array_without_gpu(self):
        """A __cuda_array_interface__ object is taken as GPU memory; without a usable CUDA
        driver the read fails with aisio.Error saying so (nothing is written anywhere)."""
        host = np.zeros(4096, np.uint8)

        class FakeGpu:
            __cuda_array_interface__ = {"data": (host.ctypes.data, False), "shape": (4, 256),
                                        "typestr": "<f4", "strides": None, "version": 3}
        self.assertEqual(aisio._aisio._gpu_pointer(FakeGpu()), (host.ctypes.data, 4096, True))
        with aisio.open("emu:64M") as d:
            with self.assertRaises(aisio.Error) as cm:
                d.read(0, FakeGpu())
            self.assertRegex(str(cm.exception), "CUDA|GPU")
        self.assertFalse(host.any())

    def test_gpu_array_layouts(self):
        class Strided:
            __cuda_array_interface__ = {"data": (4096, False), "shape": (4, 256), "typestr": "<f4",
                                        "strides": (4, 16), "version": 3}

        class ReadOnly:
            __cuda_array_interface__ = {"data": (4096, True), "shape": (1024,), "typestr": "|u1",
                                        "version": 3}
        with self.assertRaises(ValueError):
            aisio._aisio._gpu_pointer(Strided())
        with aisio.open("emu:64M") as d:
            with self.assertRaises(TypeError):
                d.read(0, ReadOnly())


class Gil(unittest.TestCase):
    def test_released_during_read(self):
        """A thread counts while the main thread waits in a slow read (the model adds
        latency to every command): with the GIL held it could not count at all."""
        with aisio.open("emu:64M,latency_us=20000") as d:
            buf = d.alloc(4 * 2**20)  # 8 commands of 512 KiB, 20 ms each at least
            stop = threading.Event()
            count = [0]

            def spin():
                while not stop.is_set():
                    count[0] += 1
            t = threading.Thread(target=spin)
            t.start()
            time.sleep(0.01)
            before = count[0]
            t0 = time.monotonic()
            d.read(0, buf)
            dt = time.monotonic() - t0
            during = count[0] - before
            stop.set()
            t.join()
            self.assertGreaterEqual(dt, 0.019)
            self.assertGreater(during, 1000, f"the counting thread ran {during} times in {dt:.3f} s")


if __name__ == "__main__":
    unittest.main()
